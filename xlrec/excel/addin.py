"""``xlrec addin``: the xlrec ribbon add-in, made from the installed xlwings' own ribbon add-in template.

The template's VBA (RunPython "import <add-in name>; <add-in name>.main()") is kept byte for byte, so it
matches the installed xlwings; only the ribbon XML changes: an "xlrec" tab with a "Fill blanks" button. An
add-in file named xlrec.xlam therefore runs ``xlrec.main()``.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import xlwings as xw

from ..files import write_atomic

__all__ = ["write_addin", "install_addin", "RIBBON_XML", "template_path"]

RIBBON_XML = """<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
    <ribbon>
        <tabs>
            <tab id="xlrecTab" label="xlrec">
                <group id="xlrecGroup" label="Sales matrix">
                    <button id="xlrecFillBlanks" label="Fill blanks" size="large" imageMso="TableInsert"
                        screentip="Fill the blanks of the selected sales matrix"
                        supertip="Predicts every blank cell of the selected sales matrix (or of the block around the selected cell) from the most similar salespeople, and marks each prediction with a light orange fill and a note naming its neighbours."
                        onAction="RibbonMyAddin.RunMain" />
                </group>
            </tab>
        </tabs>
    </ribbon>
</customUI>
"""


def template_path() -> Path:
    return Path(xw.__file__).parent / "quickstart_addin_ribbon.xlam"


def write_addin(folder=".") -> Path:
    """Write ``xlrec.xlam`` into ``folder`` (atomically) and return its path."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "xlrec.xlam"

    def write(tmp):
        with zipfile.ZipFile(template_path()) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in src.infolist():
                data = src.read(item.filename)
                if item.filename == "customUI/customUI.xml":
                    data = RIBBON_XML.encode("utf-8")
                dst.writestr(item, data)

    write_atomic(target, write)
    return target


def install_addin(path: Path) -> str:
    """Install the add-in with xlwings where Excel is (Windows, macOS); otherwise say where it is."""
    if sys.platform not in ("win32", "darwin"):
        return (f"wrote {path}; Excel is not on this machine: copy it to a Windows or macOS machine and run "
                f"'xlwings addin install --file xlrec.xlam' there")
    out = subprocess.run([sys.executable, "-m", "xlwings", "addin", "install", "--file", str(path)],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return f"wrote {path}; installing it failed: {(out.stderr or out.stdout).strip()}"
    return f"wrote {path} and installed it in Excel: {out.stdout.strip()}"
