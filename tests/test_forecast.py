"""Anticipatory demand in the store: the forecast API (operators only) and `dash forecast`,
plus the time-axis and offer commands."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from shop.api import create_app
from shop.cli import cli
from shop.forecast import demand_forecast
from shop.households import issue_token


@pytest.fixture
def store(recent_store):
    return recent_store


def test_forecast_sums_household_predictions_per_area_and_day(store):
    with store.session() as s:
        report = demand_forecast(s, 7)
    assert len(report["days"]) == 7 and report["model"] == "rule"
    assert report["rows"] and {r["area"] for r in report["rows"]} <= {
        "north",
        "south",
        "east",
        "west",
        "all",
    }
    for i, total in enumerate(report["totals"]):
        rounding = 0.005 * len(report["rows"]) + 0.01  # each cell is rounded to 0.01
        assert total == pytest.approx(sum(r["units"][i] for r in report["rows"]), abs=rounding)
    # staples bought every week lead the forecast
    assert report["rows"][0]["category_id"] in {"milk", "bread", "eggs", "bananas", "yogurt"}
    assert all(u >= 0 for r in report["rows"] for u in r["units"])


def test_forecast_api_is_for_operators(store):
    client = create_app(store=store).test_client()
    with store.session() as s:
        household = {"Authorization": f"Bearer {issue_token(s, 1, label='t')}"}
        operator = {"Authorization": f"Bearer {issue_token(s, None, role='operator')}"}
    assert client.get("/api/forecast").status_code == 401
    assert client.get("/api/forecast", headers=household).status_code == 403
    res = client.get("/api/forecast?days=3", headers=operator)
    assert res.status_code == 200 and len(res.get_json()["days"]) == 3
    assert client.get("/api/forecast?days=99", headers=operator).status_code == 400


def test_time_axis_commands(store):
    runner = CliRunner()
    url = ["--database-url", store.settings.database_url]

    def run(*args):
        result = runner.invoke(cli, [*url, *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    out = run("forecast", "--days", "2")
    assert "milk" in out and out.splitlines()[0].startswith("area")
    assert "due" in run("low", "1", "--days", "14")
    assert "offers for 24 households" in run("offers", "refresh")
    assert "% off" in run("offers", "list", "1")
    assert "reminders queued" in run("remind") or "quiet hours" in run("remind")
