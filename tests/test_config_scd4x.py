"""config.json's "scd4x" object is type-checked like the rest (firmware/config.py validate): a wrong type is a clear
ConfigError naming the field, not a surprise on the board. Seen failing before the check: {"asc": "false"} was
accepted, and node.scd_start would have sent a true string as ASC on (the self-calibration that reads a crewed
cabin's CO2 ~400 ppm low within a week, tests/test_redteam_scd_asc.py)."""
import pytest

import config as configfile


@pytest.mark.parametrize("scd4x", [{}, {"asc": True}, {"enabled": False}, {"address": 0x62, "enabled": True, "asc": False}])
def test_a_well_typed_scd4x_object_is_accepted(scd4x):
    cfg = configfile.validate({"scd4x": scd4x}, "config")
    assert set(cfg["scd4x"]) == {"address", "enabled", "asc"}


@pytest.mark.parametrize("scd4x, field", [
    ({"asc": "false"}, "scd4x.asc"), ({"asc": 0}, "scd4x.asc"), ({"enabled": 1}, "scd4x.enabled"),
    ({"enabled": None}, "scd4x.enabled"), ({"address": "0x62"}, "scd4x.address"), ({"address": True}, "scd4x.address"),
    ({"address": 0x80}, "scd4x.address"), ({"adress": 0x62}, "scd4x.adress")])
def test_a_wrong_type_or_an_unknown_field_is_a_clear_error(scd4x, field):
    with pytest.raises(configfile.ConfigError, match=field.replace(".", r"\.")):
        configfile.validate({"scd4x": scd4x}, "config")


@pytest.mark.parametrize("scd4x", [True, [], "on", None])
def test_scd4x_must_be_an_object(scd4x):
    with pytest.raises(configfile.ConfigError, match="'scd4x' must be an object"):
        configfile.validate({"scd4x": scd4x}, "config")
