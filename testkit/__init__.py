"""What the tests and the benches share: the one loopback webhook receiver, throwaway TLS
certificates, the headless-Chromium driver, synthetic tracks and histories, hostile inputs and the
real runs of the shared corpus. Installed with the package (`pip install -e .`), so the benches
import it like any library; the browser driver needs the test extra (`websocket-client`).

The provider sandboxes live in their integration's room (`service/integrations/<p>/fake/`) and the
loopback server they and these helpers run on in `service/infra/loopback.py`: `service` never
imports `testkit`."""
