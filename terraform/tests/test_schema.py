"""Arguments, blocks and references of terraform/ against the AWS provider
schema (see schema_checks.py). Run with the checks venv, like test_wiring.py."""

import unittest

import schema_checks
import tfmodel


class Schema(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.module = tfmodel.load()
        cls.schema = schema_checks.load_schema()

    def test_schema_is_the_pinned_provider_major(self):
        self.assertEqual(self.schema["provider"]["name"], "registry.terraform.io/hashicorp/aws")
        self.assertTrue(self.schema["provider"]["version"].startswith("6."), self.schema["provider"])

    def test_arguments_exist_in_provider_schema(self):
        errors = schema_checks.argument_errors(self.module, self.schema)
        self.assertEqual(errors, [], "\n" + "\n".join(errors))

    def test_references_resolve(self):
        errors = schema_checks.reference_errors(self.module, self.schema)
        self.assertEqual(errors, [], "\n" + "\n".join(errors))


if __name__ == "__main__":
    unittest.main()
