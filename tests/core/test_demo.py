import io

from django.contrib.auth import get_user_model
from django.core.management import call_command

from govflow.roles.models import Area
from govflow.roles.selectors import scope_prefixes


def test_load_demo_builds_county_and_users_and_is_idempotent_when_run_twice(db):
    out = io.StringIO()
    call_command("load_demo", stdout=out)
    assert "govflow-demo" in out.getvalue() and "rangu_shenhe" in out.getvalue()
    assert Area.objects.filter(level="township").count() >= 10
    assert Area.objects.filter(level="village").count() >= 60
    reviewer = get_user_model().objects.get(username="rangu_shenhe")
    assert scope_prefixes(user=reviewer) == ["371703102"]
    assert reviewer.check_password("govflow-demo")
    users = get_user_model().objects.count()
    call_command("load_demo", stdout=io.StringIO())
    assert get_user_model().objects.count() == users
