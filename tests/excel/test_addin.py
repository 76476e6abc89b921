"""The add-in: the xlrec tab with its two buttons, the template's VBA with one procedure added for the second,
and the Python each button's VBA runs, run as the VBA would run it (through xlwings' caller machinery)."""

import os
import re
import shutil
import subprocess
import zipfile

import pytest
import xlwings as xw
from conftest import article_cells
from defusedxml import ElementTree

import xlrec.excel
from xlrec.cli import main
from xlrec.excel.addin import RIBBON_MODULE, template_path
from xlrec.excel.vbaproject import module_source, read_compound

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
UI = "{http://schemas.microsoft.com/office/2006/01/customui}"


@pytest.fixture(scope="module")
def addin(tmp_path_factory):
    folder = tmp_path_factory.mktemp("addin")
    assert main(["addin", "-o", str(folder), "--no-install"]) == 0
    return folder / "xlrec.xlam"


def test_addin_holds_the_xlrec_tab_and_the_installed_xlwings_vba(tmp_path, capsys):
    assert main(["addin", "-o", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    path = tmp_path / "xlrec.xlam"
    assert str(path) in out
    assert list(tmp_path.iterdir()) == [path]  # written through xlrec.files.write_atomic: no temporary file left
    with zipfile.ZipFile(path) as z, zipfile.ZipFile(template_path()) as t:
        ribbon = z.read("customUI/customUI.xml").decode()
        assert '<tab id="xlrecTab" label="xlrec">' in ribbon
        assert 'label="Fill blanks"' in ribbon and 'onAction="RibbonMyAddin.RunMain"' in ribbon
        assert sorted(z.namelist()) == sorted(t.namelist())
        for name in t.namelist():
            if name not in ("customUI/customUI.xml", "xl/vbaProject.bin"):
                assert z.read(name) == t.read(name), name
        assert z.testzip() is None


def test_the_ribbon_has_both_buttons_each_calling_its_own_procedure(addin):
    with zipfile.ZipFile(addin) as z:
        ui = ElementTree.fromstring(z.read("customUI/customUI.xml"))
    buttons = {b.get("label"): b.get("onAction") for b in ui.iter(f"{UI}button")}
    assert buttons == {"Fill blanks": f"{RIBBON_MODULE}.RunMain", "Assign clients": f"{RIBBON_MODULE}.RunAssignClients"}


def _vba(path):
    with zipfile.ZipFile(path) as z:
        return z.read("xl/vbaProject.bin")


def _procedures(source):
    """{name: body} of the Subs of a VBA module's source."""
    return dict(re.findall(r"^Sub (\w+)\(control As IRibbonControl\)\r\n(.*?)^End Sub", source, re.DOTALL | re.MULTILINE))


def test_the_vba_keeps_the_template_and_adds_run_assign_clients(addin):
    template, ours = _vba(template_path()), _vba(addin)
    before, after = module_source(template, RIBBON_MODULE), module_source(ours, RIBBON_MODULE)
    assert after.startswith(before.rstrip("\r\n"))  # RunMain as xlwings wrote it
    procs = _procedures(after)
    assert set(procs) == {"RunMain", "RunAssignClients"}
    assert '.main()"' in procs["RunMain"] and '.assign_main()"' in procs["RunAssignClients"]
    # every other stream of the VBA project, the other modules and the dir stream included, byte for byte
    t_streams, o_streams = read_compound(template)[0], read_compound(ours)[0]
    assert set(t_streams) == set(o_streams)
    assert {k for k in t_streams if t_streams[k] != o_streams[k]} == {f"VBA/{RIBBON_MODULE}"}
    assert o_streams["VBA/_VBA_PROJECT"][2:4] == b"\xff\xff"  # Excel compiles the source: no p-code is run


def _python_of(body, addin_name):
    """The Python command the procedure passes to RunPython, its VBA string expression evaluated for an add-in
    file named ``addin_name`` (``mymodule`` is the file name without its extension)."""
    expr = re.search(r"^\s*RunPython (.*)$", body, re.MULTILINE).group(1)
    parts = [p.strip() for p in expr.split("&")]
    assert all(p == "mymodule" or re.fullmatch(r'"[^"]*"', p) for p in parts), parts
    return "".join(addin_name.rsplit(".", 1)[0] if p == "mymodule" else p[1:-1] for p in parts)


def _book(conf=None, values=None):
    values = [["" if v is None else v for v in row] for row in (values or article_cells())]
    sheets = [{"name": "Sales", "values": values, "pictures": [], "tables": [], "notes": []}]
    if conf:
        sheets.append({"name": "xlrec.conf", "values": conf, "pictures": [], "tables": [], "notes": []})
    rows, cols = len(values), len(values[0])
    return xw.Book(json={"client": "Office.js", "version": xw.__version__,
                         "book": {"name": "sales.xlsx", "active_sheet_index": 0,
                                  "selection": f"A1:{chr(64 + cols)}{rows}"},
                         "names": [], "sheets": sheets})


def _run_python(command):
    """Run the command as xlwings' RunPython does: a statement of Python in a fresh namespace."""
    exec(command, {})  # noqa: S102 - the exact text the add-in's VBA hands to RunPython


def _without_seconds(actions):
    return re.sub(r"\d+\.\d\d s\)", "s)", repr(actions))


def test_the_assign_clients_procedure_writes_what_assign_clients_writes(addin):
    command = _python_of(_procedures(module_source(_vba(addin), RIBBON_MODULE))["RunAssignClients"], addin.name)
    assert command == "import xlrec;xlrec.assign_main()"
    conf = [["setting", "value"], ["capacity", 2], ["keep_bonus", 1000]]
    clicked = _book(conf)  # one book at a time: xlwings shows a message on the book opened last
    clicked.set_mock_caller()
    _run_python(command)
    ours = clicked.json()["actions"]
    direct = _book(conf)
    message = xlrec.excel.assign_clients(direct)
    assert message.startswith("xlrec: sheet Assignment: expected bookings")
    assert [a["func"] for a in ours] == ["addSheet", "setValues", "alert"]
    assert _without_seconds(ours) == _without_seconds(direct.json()["actions"])


def test_the_fill_blanks_procedure_still_fills(addin):
    command = _python_of(_procedures(module_source(_vba(addin), RIBBON_MODULE))["RunMain"], addin.name)
    assert command == "import xlrec;xlrec.main()"
    book = _book()
    book.set_mock_caller()
    _run_python(command)
    written = [a for a in book.json()["actions"] if a["func"] == "setValues"]
    assert written  # the six blanks of the article's matrix, and the record sheet


@pytest.mark.skipif(SOFFICE is None and not os.environ.get("XLREC_REQUIRE_LIBREOFFICE"),
                    reason="LibreOffice (soffice) is not installed")
def test_libreoffice_reads_both_procedures_from_the_vba_project(addin, tmp_path):
    """A real office suite reads the compound file and the compressed source xlrec wrote. (LibreOffice opens
    a macro-enabled workbook, not an add-in: the same parts, with the workbook's content type.)"""
    book = tmp_path / "addin.xlsm"
    with zipfile.ZipFile(addin) as src, zipfile.ZipFile(book, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "[Content_Types].xml":
                data = data.replace(b"application/vnd.ms-excel.addin.macroEnabled.main+xml",
                                    b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
            dst.writestr(item, data)
    home = tmp_path / "home"
    home.mkdir()
    subprocess.run([SOFFICE, "--headless", "--convert-to", "ods", "--outdir", str(tmp_path / "lo"), str(book)],
                   env={**os.environ, "HOME": str(home)}, capture_output=True, timeout=180, check=True)
    with zipfile.ZipFile(tmp_path / "lo" / "addin.ods") as z:
        modules = {n.rsplit("/", 1)[-1]: n for n in z.namelist() if n.startswith("Basic/")}
        text = ElementTree.fromstring(z.read(modules[f"{RIBBON_MODULE}.xml"])).text
        assert "xlwings.xml" in modules
    procs = _procedures(text.replace("\n", "\r\n"))
    assert set(procs) == {"RunMain", "RunAssignClients"}
    assert _python_of(procs["RunAssignClients"], "xlrec.xlam") == "import xlrec;xlrec.assign_main()"
    assert _python_of(procs["RunMain"], "xlrec.xlam") == "import xlrec;xlrec.main()"
