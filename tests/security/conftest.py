"""Security tests: the attacks of each class tried against the handlers (moto),
the local stack over HTTP and the template."""

from tests.e2e.conftest import stack  # noqa: F401 - the local stack, as the e2e tests run it
from tests.integration.conftest import aws  # noqa: F401 - the same moto fixture
