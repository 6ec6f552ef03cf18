"""Packages that import their names' modules when a name is first used (promotions.lazy_exports) still export
every name they list, and only those."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

LAZY_PACKAGES = ["promotions.checks", "promotions.config", "promotions.sources"]


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_every_listed_name_is_exported_from_its_module(package):
    module = importlib.import_module(package)

    for name in module.__all__:
        value = getattr(module, name)
        assert getattr(module, name) is value, "a name is kept on the package once imported"


@pytest.mark.parametrize("package", LAZY_PACKAGES)
def test_an_unlisted_name_is_an_attribute_error(package):
    module = importlib.import_module(package)

    with pytest.raises(AttributeError, match="no attribute 'Unlisted'"):
        module.Unlisted  # noqa: B018 - the lookup is the test


def test_importing_the_configuration_package_loads_none_of_its_modules():
    code = (
        "import sys\nimport promotions.config, promotions.checks\n"
        "print(sorted(m for m in sys.modules if m.startswith(('promotions.config.', 'promotions.checks.'))))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
