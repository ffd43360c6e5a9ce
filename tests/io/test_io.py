"""Strict input readers and quantity parsing."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtmm_opt.errors import InputError
from rtmm_opt.io import Fields, check_number, load_yaml
from rtmm_opt.io.units import format_duration, parse_duration


def test_fields_rejects_unknown_keys_with_suggestion():
    fields = Fields({"fps": 30, "fsp": 1}, file="s.yaml", path="tasks[0]")
    assert fields.number("fps", positive=True) == 30
    with pytest.raises(InputError) as err:
        fields.done()
    assert str(err.value).startswith(
        "s.yaml: tasks[0].fsp: unknown key 'fsp' (did you mean 'fps'?)"
    )


@pytest.mark.parametrize("value", [0, -1, math.nan, math.inf, "10", True, 1e300])
def test_check_number_rejects(value):
    with pytest.raises(InputError) as err:
        check_number(value, file="f", field="x", positive=True)
    assert err.value.field == "x"


def test_missing_and_typed_fields():
    fields = Fields({"name": ""}, file="f.yaml")
    with pytest.raises(InputError, match=r"f\.yaml: name: expected a non-empty string"):
        fields.text("name")
    with pytest.raises(InputError, match=r"f\.yaml: model: required field is missing"):
        fields.text("model")
    with pytest.raises(InputError, match="expected a mapping"):
        Fields([1, 2], file="f.yaml")


def test_load_yaml_errors(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("a: [1, 2\nb: 3\n")
    with pytest.raises(InputError, match="malformed YAML"):
        load_yaml(bad)
    empty = tmp_path / "empty.yaml"
    empty.write_text("  \n")
    with pytest.raises(InputError, match="empty"):
        load_yaml(empty)
    with pytest.raises(InputError, match="no such file"):
        load_yaml(tmp_path / "missing.yaml")


@pytest.mark.parametrize(
    ("text", "ns"),
    [
        ("1s", 10**9),
        ("700ms", 7 * 10**8),
        ("250us", 250_000),
        ("5000ns", 5000),
        ("0.5", 5 * 10**8),
        (2, 2 * 10**9),
    ],
)
def test_parse_duration(text, ns):
    assert parse_duration(text) == ns


@pytest.mark.parametrize("text", ["-1s", "abc", "1 parsec", "0s", "", "nan", "1e30s", True])
def test_parse_duration_rejects(text):
    with pytest.raises(InputError, match="duration"):
        parse_duration(text)


@given(st.integers(min_value=1, max_value=10**14))
def test_duration_format_round_trip(ns):
    assert parse_duration(format_duration(ns)) == ns
