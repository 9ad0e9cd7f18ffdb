"""What a side builds: the clone, the workspace, the scenario's edit and the caches carried
between runs."""
