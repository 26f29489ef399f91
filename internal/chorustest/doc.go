// Package chorustest is the test harness shared by the protocol tests, the demo
// (cmd/chorus/internal/demo) and the scale simulation (sim):
//
//   - Device, one installation under test: a client opened by its Opener, started in a
//     Mode (Create, Link, Reopen), at work between Start and Halt or Shutdown, its events
//     recorded across restarts. The demo opens its devices on Waku;
//   - Network, devices on a memory transport, each with its own sqlite store and a fault
//     switch (Fault), with Connect, Settle, WaitFor and LinkNew;
//   - Meter, a metering transport: publishes and bytes per topic, every publish kept, a
//     publish lost or a topic missed on purpose;
//   - Tap, a listener recording what reaches a node on some topics;
//   - Running (Start), a client at work: Run on a goroutine, its events recorded;
//   - Events, the recorded events, with named predicates (Joined, Received, SawAdded,
//     ToldLost, ...) to Await; Poll for conditions on a client's state;
//   - Short and Median, the formatting every report uses.
//
// It is internal to the module and imports only protocol, persistence and the
// transports: a real client on a real transport is observed by wrapping its transport,
// never replaced by a mock.
package chorustest
