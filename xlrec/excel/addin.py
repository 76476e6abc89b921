"""``xlrec addin``: the xlrec ribbon add-in, made from the installed xlwings' own ribbon add-in template.

The template's VBA is kept as it is, so it matches the installed xlwings: its ``RunMain`` runs
``RunPython "import <add-in name>; <add-in name>.main()"``, so an add-in file named xlrec.xlam runs
``xlrec.main()`` (Fill blanks). One procedure is added at the end of the template's ribbon module,
``RunAssignClients``, which runs ``xlrec.assign_main()`` (Assign clients) the same way (see
:mod:`xlrec.excel.vbaproject`); every other module's stream is copied byte for byte. The ribbon XML is
replaced: an "xlrec" tab with the two buttons.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import xlwings as xw

from ..files import write_atomic
from .vbaproject import append_to_module

__all__ = ["ASSIGN_MACRO", "RIBBON_MODULE", "RIBBON_XML", "install_addin", "template_path", "write_addin"]

#: the VBA module of xlwings' ribbon template that holds ``RunMain``, the Fill blanks button's procedure
RIBBON_MODULE = "RibbonMyAddin"

#: the Assign clients button's procedure, added to :data:`RIBBON_MODULE`: ``RunMain``'s twin (the add-in's file
#: name is the Python module it imports), calling ``xlrec.assign_main()``
ASSIGN_MACRO = """Sub RunAssignClients(control As IRibbonControl)
    mymodule = Left(ThisWorkbook.Name, (InStrRev(ThisWorkbook.Name, ".", -1, vbTextCompare) - 1))
    RunPython "import " & mymodule & ";" & mymodule & ".assign_main()"
End Sub
"""

RIBBON_XML = """<customUI xmlns="http://schemas.microsoft.com/office/2006/01/customui">
    <ribbon>
        <tabs>
            <tab id="xlrecTab" label="xlrec">
                <group id="xlrecGroup" label="Sales matrix">
                    <button id="xlrecFillBlanks" label="Fill blanks" size="large" imageMso="TableInsert"
                        screentip="Fill the blanks of the selected sales matrix"
                        supertip="Predicts every blank cell of the selected sales matrix (or of the block around the selected cell) from the most similar salespeople, and marks each prediction with a light orange fill and a note naming its neighbours."
                        onAction="RibbonMyAddin.RunMain" />
                    <button id="xlrecAssignClients" label="Assign clients" size="large" imageMso="MacroPlay"
                        screentip="Assign the clients of the selected sales matrix"
                        supertip="Chooses an owner for every client of the selected sales matrix to maximize the expected bookings (the booking where known, the prediction elsewhere), within the capacity and keep bonus of the xlrec.conf sheet, and writes them on a new Assignment sheet."
                        onAction="RibbonMyAddin.RunAssignClients" />
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
                elif item.filename == "xl/vbaProject.bin":
                    data = append_to_module(data, RIBBON_MODULE, ASSIGN_MACRO)
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
