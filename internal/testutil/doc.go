// Package testutil holds helpers for gophone's integration tests: building
// the daemon, picking free loopback ports, running a daemon under test, and
// driving the real SIP peers the tests talk to (SIPp and baresip from
// Debian's packages).
//
// Every helper binds 127.0.0.1 only, ties the processes it starts to the
// test's cleanup, and waits for conditions rather than sleeping for fixed
// times.
package testutil
