// Package chorustest is the test harness shared by the protocol tests, the demo
// (cmd/chorus/internal/demo) and the scale simulation (sim): a metering transport
// (Meter: publishes and bytes per topic, envelopes recorded, a publish lost or a topic
// missed on purpose), an engine event recorder with named predicates to wait for
// (Events, Await), polling (Poll) and the small formatting helpers every report uses
// (Short, Median).
//
// It is internal to the module and imports only protocol and transport: a real client on
// a real transport is metered by wrapping its transport, never by a mock.
package chorustest
