package isoswitch_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"math/big"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posswitch/posswitch/iso"
	isoswitch "github.com/posswitch/posswitch/switch"
)

// TestKeepAliveEcho: an idle persistent connection sends echoes.
func TestKeepAliveEcho(t *testing.T) {
	for name, d := range dialectsUnderTest(t) {
		t.Run(name, func(t *testing.T) {
			h := startHost(t, d)
			newTerminal(t, h, isoswitch.WithPersistentConnection(50*time.Millisecond))
			echo := map[string]string{"cup": "0820", "iso87": "0800", "iso87_h2h": "0800"}[name]
			deadline := time.Now().Add(5 * time.Second)
			for {
				n := 0
				for _, m := range h.requests() {
					if m == echo {
						n++
					}
				}
				if n >= 2 {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("host saw %v; want keep-alive echoes", h.requests())
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}

// TestTLS: the terminal talks to a TLS host, and refuses one whose
// certificate it does not trust (nothing sent).
func TestTLS(t *testing.T) {
	cert, pool := selfSigned(t)
	d := dialectsUnderTest(t)["iso87"]
	h, stop, err := listenHost(d, t.Errorf, func(ln net.Listener) net.Listener {
		return tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	term, _ := newTerminal(t, h, isoswitch.WithTLS(&tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}))
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Fatal(err)
	}
	if got := h.requests(); !slices.Contains(got, "0200") {
		t.Errorf("host saw %v", got)
	}
	untrusting, err := isoswitch.New(isoswitch.Config{Dialect: d, Addr: h.addr, Terminal: "TERM0001",
		Merchant: "898310048161234", MasterKey: testTMK, Journal: openJournal(t)},
		isoswitch.WithTLS(&tls.Config{MinVersion: tls.VersionTLS12}), isoswitch.WithTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer untrusting.Close()
	if err := untrusting.SignOn(ctx5(t), "01"); err == nil {
		t.Error("signed on to a host with an untrusted certificate")
	}
}

func selfSigned(t *testing.T) (tls.Certificate, *x509.CertPool) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

// TestTraceIsMasked: the message trace shows every message sent and
// received, masked.
func TestTraceIsMasked(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	h := startHost(t, dialectsUnderTest(t)["cup"])
	term, _ := newTerminal(t, h, isoswitch.WithTrace(func(dir string, m *iso.Message) {
		mu.Lock()
		lines = append(lines, dir+" "+m.String())
		mu.Unlock()
	}))
	if _, err := term.Sale(ctx5(t), "01", cny10, visa); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	all := strings.Join(lines, "\n")
	if !strings.Contains(all, "send 0200") || !strings.Contains(all, "recv 0210") || strings.Contains(all, visa.PAN.Digits()) ||
		!strings.Contains(all, "411111******1111") {
		t.Errorf("trace:\n%s", all)
	}
}
