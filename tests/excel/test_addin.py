import zipfile

from xlrec.cli import main
from xlrec.excel.addin import template_path


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
        assert z.read("xl/vbaProject.bin") == t.read("xl/vbaProject.bin")
        assert sorted(z.namelist()) == sorted(t.namelist())
        assert z.testzip() is None
