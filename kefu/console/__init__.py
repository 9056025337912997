"""The staff console: server-rendered pages for approvers, departments, Quality and Sales."""
