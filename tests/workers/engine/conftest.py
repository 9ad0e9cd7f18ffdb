import pytest

from tests.provisioning import maven_mirror
from tests.repos import make_git_repo, maven_project_files
from tests.support import require_tool
from workers.engine.config import EngineConfig


@pytest.fixture
def config(tmp_path):
    """The engine's defaults, its workspaces under the test's own directory."""
    require_tool("bwrap", "builds run in the sandbox")
    return EngineConfig(workspace_root=tmp_path / "workspaces")


@pytest.fixture
def repo(tmp_path):
    """A git repository holding a small Maven project that builds offline."""
    return make_git_repo(tmp_path / "repo", maven_project_files())


@pytest.fixture(scope="session")
def central_maven_mirror(tmp_path_factory):
    """A local Maven repository holding Maven 3.9.11 and the apache-maven version list, fetched
    from Maven Central once per test session."""
    return maven_mirror(tmp_path_factory.mktemp("maven-mirror") / "repository")
