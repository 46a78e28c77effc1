"""harness.dburl: passwords masked wherever a URL is shown, psycopg chosen for postgresql://."""

from __future__ import annotations

import pytest

from harness.dburl import mask_secrets, mask_url, normalize_url


@pytest.mark.parametrize("url, shown", [
    ("postgresql://alice:s3cret@db.lab:5432/harness",
     "postgresql://alice:***@db.lab:5432/harness"),
    ("postgresql+psycopg://u:p%40ss@h/db?sslmode=require",
     "postgresql+psycopg://u:***@h/db?sslmode=require"),
    ("postgresql://u@h/db?password=abc&x=1", "postgresql://u@h/db?password=***&x=1"),
    ("postgresql://u@h/db", "postgresql://u@h/db"),
    ("sqlite:////var/lb.sqlite", "sqlite:////var/lb.sqlite"),
])
def test_mask_url(url, shown):
    assert mask_url(url) == shown


def test_mask_secrets_scrubs_a_password_quoted_alone():
    url = "postgresql://a:p%40ss@h/db"
    text = f"could not connect to {url}: password p@ss rejected, p%40ss"
    assert mask_secrets(text, url) == \
        "could not connect to postgresql://a:***@h/db: password *** rejected, ***"


def test_normalize_url_picks_the_installed_driver():
    import importlib.util

    driver = "" if importlib.util.find_spec("psycopg2") else "+psycopg"
    assert normalize_url("postgres://u@h/db") == f"postgresql{driver}://u@h/db"
    assert normalize_url("postgresql+psycopg2://u@h/db") == "postgresql+psycopg2://u@h/db"
    assert normalize_url("sqlite:///x.sqlite") == "sqlite:///x.sqlite"
