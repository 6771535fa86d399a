"""The bad-input table's fixture (its world of files), shared by every ``test_bad_<command>.py`` here."""
from badinput_table import world  # noqa: F401 - a fixture: pytest finds it in this namespace
