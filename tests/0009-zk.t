#!/bin/bash
# lib/zk against the real ZooKeeper server of the test harness.
. "$(dirname "$0")/lib.sh"
exec zk-check
