"""The admin console. Staff see only the tenants where they hold a role; every write is a service.

This package's ``__init__`` registers nothing, so other apps import the base classes from
``directory.admin.base`` without pulling in directory's admins; ``DirectoryConfig.ready`` imports
:mod:`directory.admin.site` which registers them.
"""
