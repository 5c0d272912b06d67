"""The runtime that runs the services: the `recruit` CLI, the `recruit up` supervisor, embedded
infrastructure and the campaign simulator. A service never imports this package."""
