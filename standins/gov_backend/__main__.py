"""`python -m standins.gov_backend [--port …] [--host …] [--access-log]`: the backend
process, as `python -m standins.gov_backend.app` (what scripts/run.sh starts)."""
from standins.gov_backend.app import main

if __name__ == "__main__":
    main()
