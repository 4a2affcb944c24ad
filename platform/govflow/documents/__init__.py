"""Printable documents (告知书, 征收决定书, 催告书, certificates): templates as data, rendered to PDF."""
