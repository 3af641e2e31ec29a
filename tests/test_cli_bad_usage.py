"""Bad usage of the reader CLIs (`show`, `export_hf`): one line on stderr and exit 2, no traceback."""

from __future__ import annotations

import pytest

from m3w_builder import export_hf, show


@pytest.fixture
def corrupt(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "dataset.json").write_text('{"shardlist": [{"url": "x.tar", "nsamples": 5}]')  # cut short
    return folder


@pytest.mark.parametrize("argv", [
    lambda d, t: (show.main, [str(d), "0"]),
    lambda d, t: (export_hf.main, [str(d), str(t / "export")]),
    lambda d, t: (export_hf.main, [str(d), str(t / "export"), "--rows_per_file", "0"]),
])
def test_a_corrupt_folder_or_a_zero_size_is_one_line(corrupt, tmp_path, capsys, argv):
    main, args = argv(corrupt, tmp_path)
    with pytest.raises(SystemExit) as stopped:
        main(args)
    err = capsys.readouterr().err
    assert stopped.value.code == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "export").exists()
