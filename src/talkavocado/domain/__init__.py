"""The domain: jobs and their state machine, manifests, keys, the pipeline's
declaration, events, errors, deadlines and webhooks. No AWS, no HTTP, no files."""
