"""Parses every .tf file of terraform/ and asserts how the pieces are wired
(see wiring_checks.py for the list). Run: terraform/check.sh, or
  .state/venv-checks/bin/python -m unittest discover -s terraform/tests -v"""

import unittest

import tfmodel
import wiring_checks


class Wiring(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = tfmodel.load()


def _make(check):
    def test(self):
        check(self.module)

    test.__doc__ = check.__name__
    return test


for _check in wiring_checks.CHECKS:
    setattr(Wiring, "test_" + _check.__name__.removeprefix("check_"), _make(_check))


if __name__ == "__main__":
    unittest.main()
