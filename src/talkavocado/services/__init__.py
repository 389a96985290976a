"""The control plane's use cases (jobs, webhooks), over the ports only."""
