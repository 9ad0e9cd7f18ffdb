"""The sandbox: bubblewrap arguments, seccomp, the network, disk quotas, the build account and
safe file handling."""
