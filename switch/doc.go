// Package isoswitch is the API a terminal application embeds to talk to its
// acquirer host, and the host side simulators run. It wires a connection, a
// dialect (package iso) and a journal with its recovery engine (package
// reversal) into typed calls.
//
// The folder is named switch; the package is isoswitch, since switch is a
// Go keyword (as protobuf's struct folder holds package structpb).
//
// # Connections
//
// A connection runs on moov-io/iso8583-connection with posswitch's framing
// as its message reader, and matches replies itself on MTI class + STAN +
// terminal ID. It never calls the connection's Send, whose v0.9.0
// implementation deadlocks when a send's deadline or its reply races a
// connection failure; a caller's deadline is a select on its context, and
// closing a connection ends every pending request at once.
// TestNoDeadlockWhenDeadlineRacesFailure races deadlines, replies and
// failures 3,000 times on 127.0.0.1 and fails on any hang or goroutine
// left behind.
package isoswitch
