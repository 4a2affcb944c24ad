from datetime import date

from govflow.workdays import (
    add_months,
    add_working_days,
    is_working_day,
    whole_months_between,
    working_days_between,
)


def test_ten_working_days_from_monday_lands_two_weeks_later_when_no_holiday():
    assert add_working_days(date(2012, 3, 5), 10) == date(2012, 3, 19)  # DOMAIN C-1


def test_holidays_and_makeup_days_counted_when_in_calendar():
    assert not is_working_day(date(2012, 10, 1))  # 国庆
    assert is_working_day(date(2012, 9, 29))  # a Saturday made a working day (调休)
    assert not is_working_day(date(2012, 3, 10))  # an ordinary Saturday
    # From Friday 2012-09-28: 9-29 (调休 Sat) is working, 9-30..10-7 holidays, then 10-8.
    assert add_working_days(date(2012, 9, 28), 2) == date(2012, 10, 8)


def test_working_days_between_matches_add_when_counted():
    assert working_days_between(date(2012, 3, 5), date(2012, 3, 19)) == 10
    assert working_days_between(date(2012, 3, 19), date(2012, 3, 5)) == -10


def test_months_clamp_and_count_whole_months_when_computed():
    assert add_months(date(2013, 1, 31), 1) == date(2013, 2, 28)
    assert whole_months_between(date(2013, 4, 4), date(2013, 11, 4)) == 7  # DOMAIN A-2
    assert whole_months_between(date(2013, 4, 4), date(2013, 11, 3)) == 6
