// Command demo is posswitch in one process with no set-up: it starts an
// acquirer simulator (switchtest) and a terminal with a journal in a
// temporary directory, then walks a merchant's day — a sale and its
// receipt, revoking QR payments, a reply that never comes, a host that
// answers late, a crash right after sending, a settlement the host
// disagrees with, a refund from the settled batch and the audit export of
// every cancellation — printing what was sent (masked) and what the
// terminal decided and why. It exits non-zero if any story did not end as
// expected.
//
//	go run ./examples/demo
package main

import (
	"context"
	"fmt"
	"os"
	"time"
)

func main() {
	start := time.Now()
	d, err := newDay()
	if err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
	defer d.close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	failed := 0
	for i, s := range stories {
		fmt.Printf("\n── %d. %s ──\n", i+1, s.title)
		if err := s.run(ctx, d); err != nil {
			failed++
			fmt.Printf("   ✗ NOT AS EXPECTED: %v\n", err)
			continue
		}
		fmt.Println("   ✓ as expected")
	}
	fmt.Printf("\n%d of %d stories ended as expected in %s.\n", len(stories)-failed, len(stories), time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		d.close()
		os.Exit(1)
	}
}
