#!/usr/bin/env bash
# The main job: build iotsim (and its Python module), start the local AWS IoT Core endpoint, and
# run the quick-connect
# lab's device (client basicPubSub, mTLS on the MQTTS port, "Hello World! [n]" on sdk/test/python)
# while a second client subscribed to '#' watches, as the console's MQTT test client does.
# Then the Device Shadow: the AWS CLI v2 (iot-data, --endpoint-url) sets the lamp's desired
# state over REST while mosquitto_sub watches the delta; then the simulator; finally the lab's Task 1
# and Task 2 notebooks run headless into a report with their answers and diagrams (lab-report/).
#   IOTSIM_DATA_DIR (default .iotsim)  MQTT_PORT (1883)  MQTTS_PORT (8883)  HTTP_PORT (8080)
#   HTTPS_PORT (8443)  COUNT (5)  REPORT_DIR (lab-report)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
export PATH="/usr/bin:$PATH"   # Debian's python3 first; /usr/bin, not /bin: CMake derives package prefixes from PATH
cmake --preset release >/dev/null
cmake --build --preset release --target iotsim _core
# `import iotsim` for Debian's python3 (notebooks, scripts): a .pth file naming build/release/python.
bash scripts/install-python.sh build/release || echo "iotsim: could not install the Python path (see scripts/install-python.sh --user)" >&2
data_dir="${IOTSIM_DATA_DIR:-.iotsim}"
mqtt_port="${MQTT_PORT:-1883}"
mqtts_port="${MQTTS_PORT:-8883}"
http_port="${HTTP_PORT:-8080}"
https_port="${HTTPS_PORT:-8443}"
count="${COUNT:-5}"
log="$(mktemp)"
build/release/iotsim serve --data-dir "$data_dir" --mqtt-port "$mqtt_port" --mqtts-port "$mqtts_port" \
  --http-port "$http_port" --https-port "$https_port" >"$log" 2>&1 &
server=$!
watcher=""
cleanup() {
  [ -n "$watcher" ] && kill "$watcher" 2>/dev/null || true
  kill -TERM "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 100); do grep -q listening "$log" && break; sleep 0.1; done
if ! grep -q listening "$log"; then cat "$log" >&2; exit 2; fi
echo "== iotsim endpoint: $(grep listening "$log")"
echo "== root CA: $data_dir/root-CA.crt   device certificate: $data_dir/device.cert.pem"
echo "== MQTT test client: mosquitto_sub -t '#' over mTLS"
mosquitto_sub -h localhost -p "$mqtts_port" --cafile "$data_dir/root-CA.crt" --cert "$data_dir/device.cert.pem" \
  --key "$data_dir/device.private.key" -i iotconsole-test-client -t '#' -v > >(sed -u 's/^/   [test client] /') &
watcher=$!
sleep 0.5
echo "== device: examples/pubsub.py (AWS IoT Device SDK's CRT client)"
python3 examples/pubsub.py --endpoint localhost --port "$mqtts_port" --ca_file "$data_dir/root-CA.crt" \
  --cert "$data_dir/device.cert.pem" --key "$data_dir/device.private.key" --client_id basicPubSub \
  --topic sdk/test/python --count "$count"
sleep 0.3
echo "== Device Shadow over REST: aws iot-data update-thing-shadow --endpoint-url http://localhost:$http_port"
mosquitto_sub -h localhost -p "$mqtt_port" -i lamp-delta-watcher -t '$aws/things/lamp/shadow/update/delta' -C 1 -W 10 \
  > >(sed -u 's/^/   [delta subscriber] /') &
delta=$!
sleep 0.3
aws_v2=$(env -i PATH="$(getconf PATH)" sh -c 'command -v aws' || true)
# Signed with the keys the server wrote on first start, as every request to its HTTP ports must be.
export AWS_SHARED_CREDENTIALS_FILE="$data_dir/credentials" AWS_DEFAULT_REGION=us-east-1
"$aws_v2" --endpoint-url "http://localhost:$http_port" iot-data update-thing-shadow --thing-name lamp \
  --cli-binary-format raw-in-base64-out --payload '{"state":{"desired":{"power":"on"}}}' /dev/stdout | sed 's/^/   [update] /'
echo
"$aws_v2" --endpoint-url "http://localhost:$http_port" iot-data get-thing-shadow --thing-name lamp /dev/stdout | sed 's/^/   [get] /'
echo
wait "$delta" 2>/dev/null || true
echo "== server log"
sed 's/^/   /' "$log"
echo "== the same device in the simulator (virtual time, reproducible): iotsim run sim/scenarios/quick_connect.json"
build/release/iotsim run sim/scenarios/quick_connect.json | sed 's/^/   /'
echo "== the lab, headless: Task 1 and Task 2 notebooks with their answers, figures and diagrams -> ${REPORT_DIR:-lab-report}/"
report_dir="${REPORT_DIR:-lab-report}"
mkdir -p "$report_dir"
build/release/iotsim diagram sim/scenarios/motion_lamp.json -o "$report_dir/motion_lamp-architecture.svg" | sed 's/^/   /'
build/release/iotsim diagram sim/scenarios/motion_lamp.json --kind sequence -o "$report_dir/motion_lamp-sequence.svg" \
  | sed 's/^/   /'
build/release/iotsim report notebooks/02_architecture.ipynb notebooks/03_connect_a_device.ipynb --out "$report_dir" \
  2> >(grep -v "Parent appears to have exited" >&2) | sed 's/^/   /'
echo "   open $report_dir/index.md, or the notebooks in Jupyter: jupyter notebook notebooks/02_architecture.ipynb"
