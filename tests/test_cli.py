"""The dash command line, run in-process with click's runner."""

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


def test_token_errors(run):
    run("init-db")
    result = run("token")
    assert result.exit_code == 2 and "HOUSEHOLD" in result.output
    result = CliRunner().invoke(cli, ["--database-url", "sqlite://", "token", "1"])
    assert result.exit_code != 0
