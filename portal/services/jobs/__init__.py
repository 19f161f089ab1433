"""Work that runs on a schedule, started by the CLI (cron): reminders to suppliers
and schools, retention, backups."""
