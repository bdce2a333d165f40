"""Release dates, visit intervals and subsidy months count days from today: every test here runs
at ``tests.conftest.FIXED_NOW``."""

import pytest


@pytest.fixture(autouse=True)
def _clock(controlled_clock):
    return controlled_clock
