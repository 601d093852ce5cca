"""The dash command line, run in-process with click's runner."""

import pandas as pd
import pytest
from click.testing import CliRunner

from shop.cli import cli


@pytest.fixture
def run(tmp_path):
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    runner = CliRunner()

    def invoke(*args):
        result = runner.invoke(cli, ["--database-url", url, *args], catch_exceptions=False)
        return result

    return invoke


def test_init_seed_token(run):
    assert "database ready" in run("init-db").output
    out = run("seed-demo", "--households", "5", "--days", "60", "--end", "2026-01-01").output
    assert "40 categories, 165 products, 5 households" in out
    assert "already exist" in run("seed-demo").output
    assert "5 households" in run("seed-demo", "--households", "5", "--reset").output
    result = run("token", "3")
    assert result.exit_code == 0 and len(result.output.strip()) >= 40
    assert run("token", "--revoke", result.output.strip()).output.strip() == "revoked"
    again = run("token", "--revoke", result.output.strip())  # revoked: refused from now on
    assert again.exit_code != 0 and "invalid or revoked token" in again.output


def test_token_errors(run):
    run("init-db")
    result = run("token")
    assert result.exit_code == 2 and "HOUSEHOLD" in result.output
    result = CliRunner().invoke(cli, ["--database-url", "sqlite://", "token", "1"])
    assert result.exit_code != 0


def test_device_commands_write_mosquitto_files(run, tmp_path, monkeypatch):
    from shop.devices import check_password

    monkeypatch.setenv("DASH_MQTT_AUTH_DIR", str(tmp_path / "auth"))
    run("seed-demo", "--households", "3", "--days", "30", "--end", "2026-01-01")
    out = run("device", "add", "1", "--name", "kitchen").output
    device_id = out.split("device id:")[1].split()[0]
    secret = out.split("secret:")[1].split()[0]
    passwd = (tmp_path / "auth" / "passwd").read_text()
    entry = next(line for line in passwd.splitlines() if line.startswith(device_id + ":"))
    assert check_password(secret, entry.split(":", 1)[1])
    assert "pattern write dash/%u/scan" in (tmp_path / "auth" / "acl").read_text()
    assert "kitchen" in run("device", "list").output
    assert "revoked" in run("device", "revoke", device_id).output
    assert device_id not in (tmp_path / "auth" / "passwd").read_text()
    assert "revoked" in run("device", "list", "--household", "1").output
    conf = run("broker-config", "--port", "18830").output
    assert "listener 18830 127.0.0.1" in conf and "allow_anonymous false" in conf
    assert run("device", "add", "999", "--name", "x").exit_code != 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cutoff", "2017-11-01", "--end", "2017-10-01"], "must come after --cutoff"),
        (["--cutoff", "soon"], "take dates such as 2017-11-01"),
        (["--sections", "brands"], "unknown sections: brands"),
    ],
)
def test_evaluate_refuses_bad_options_before_loading_any_data(run, args, message, capsys):
    """`dash evaluate` is `python -m recommender.evaluate`: the same checks, the same words."""
    result = run("evaluate", *args)
    assert result.exit_code == 2
    assert message in result.output + capsys.readouterr().err


def test_an_evaluation_window_needs_history_before_it_and_purchases_in_it():
    from recommender.data import window_problem
    from recommender.training import TRAIN_WINDOW

    times = pd.Series(pd.date_range("2017-01-01", "2017-12-31 18:00", freq="6h"))
    assert window_problem(times, pd.Timestamp("2017-11-01"), None, TRAIN_WINDOW) is None
    early = window_problem(times, pd.Timestamp("2017-02-01"), None, TRAIN_WINDOW)
    assert "too little history" in early and "use 2017-03-27 or later" in early
    assert window_problem(times, pd.Timestamp("2017-03-27"), None, TRAIN_WINDOW) is None
    late = window_problem(times, pd.Timestamp("2018-02-01"), None, TRAIN_WINDOW)
    assert "no purchases between" in late and "data ends 2017-12-31" in late
    gap = times[(times < "2017-11-01") | (times >= "2017-12-01")]
    empty = window_problem(
        gap, pd.Timestamp("2017-11-01"), pd.Timestamp("2017-12-01"), TRAIN_WINDOW
    )
    assert "no purchases between --cutoff 2017-11-01 and 2017-12-01" in empty
