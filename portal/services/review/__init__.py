"""The reviewer's work on a submitted request: decisions and overrides, suppliers
side by side, the dashboard's figures, and the audit trail in words."""
