"""Board files: every one valid; bad ones rejected with the file and the field named (both runtimes)."""
import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NAMES = sorted(p.stem for p in (REPO / "boards").glob("*.json"))


def test_every_board_validates_in_both_runtimes(runtime):
    boards = {n: json.loads((REPO / "boards" / f"{n}.json").read_text()) for n in NAMES}
    got = runtime.exec("import board\nb = %r\nresult = dict((n, board.validate(b[n], n)['board_code']) for n in b)"
                       % boards)
    assert got["pico"] == got["pico_w"] == 1 and got["pico2"] == 2
    assert got["esp32_devkitc"] == got["esp32s3_devkitc"] == 3 and got["sim"] == 4


def test_every_board_file_loads():
    import board
    for n in NAMES:
        b = board.load(str(REPO / "boards" / f"{n}.json"))
        assert b["name"] == n


def test_pins_match_the_wiring_doc():
    wiring = (REPO / "docs" / "wiring.md").read_text()
    for name in NAMES:
        b = json.loads((REPO / "boards" / f"{name}.json").read_text())
        if name == "sim":
            continue
        assert f"`{name}`" in wiring
        section = wiring.split(f"`{name}`", 1)[1].split("\n## ", 1)[0]
        assert f"GP{b['i2c']['sda']}" in section or f"GPIO{b['i2c']['sda']}" in section
        assert f"GP{b['i2c']['scl']}" in section or f"GPIO{b['i2c']['scl']}" in section


def _bad(tmp_path, **change):
    b = json.loads((REPO / "boards" / "pico.json").read_text())
    for k, v in change.items():
        if v is None:
            b.pop(k)
        else:
            b[k] = v
    p = tmp_path / "broken.json"
    p.write_text(json.dumps(b))
    return p


@pytest.mark.parametrize("change, field", [
    ({"arch": "z80"}, "'arch'"),
    ({"wdt_ms": 9000}, "RP2040 maximum"),
    ({"i2c": {"id": 0, "sda": 4, "scl": 5}}, "i2c.freq"),
    ({"link": {"kind": "uart", "id": 0, "tx": 0, "rx": 1}}, "link.baud"),
    ({"link": {"kind": "radio"}}, "link.kind"),
    ({"min_micropython": "latest"}, "min_micropython"),
    ({"mcu": None}, "missing field 'mcu'"),
    ({"i2c": {"id": 0, "sda": 99, "scl": 5, "freq": 100000}}, "i2c.sda"),
])
def test_bad_board_names_file_and_field(tmp_path, change, field):
    import board
    p = _bad(tmp_path, **change)
    with pytest.raises(board.BoardError) as e:
        board.load(str(p))
    assert str(p) in str(e.value) and field in str(e.value)


def test_not_json_and_missing(tmp_path):
    import board
    p = tmp_path / "x.json"
    p.write_text("{nope")
    with pytest.raises(board.BoardError, match="not valid JSON"):
        board.load(str(p))
    with pytest.raises(board.BoardError, match="not found"):
        board.load(str(tmp_path / "none.json"))
