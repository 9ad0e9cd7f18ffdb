"""Starting a race: what a submission may contain, the services that create and cancel races, the
rate limit, suggested repositories."""
