package switchtest

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/posswitch/posswitch/iso"
)

// A recording is a session's exchanges as a txtar-style text file: a
// comment, then one "-- NNN request --" and "-- NNN reply --" section per
// exchange, each the message body as hex after its masked dump as "#"
// comment lines. It is meant to be read and diffed by people and committed
// under testdata/ (fixtures use published test card numbers only).

// Exchange is one recorded request and the reply that answered it.
type Exchange struct {
	Request []byte // body (MTI onwards) as received
	Reply   []byte // body as sent, nil when the host sent nothing
}

type recorder struct {
	mu        sync.Mutex
	exchanges []Exchange
}

func (r *recorder) add(req, reply []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exchanges = append(r.exchanges, Exchange{Request: append([]byte(nil), req...), Reply: append([]byte(nil), reply...)})
}

// WithRecording keeps every exchange so WriteRecording can save them.
func WithRecording() Option { return func(h *Host) { h.rec = &recorder{} } }

// WriteRecording writes the session recorded so far (WithRecording).
func (h *Host) WriteRecording(path string) error {
	if h.rec == nil {
		return fmt.Errorf("switchtest: the host was not started WithRecording")
	}
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	var b bytes.Buffer
	fmt.Fprintf(&b, "posswitch recorded session\ndialect: %s\nrecorded: %s\nexchanges: %d\n",
		h.d.Name(), time.Now().UTC().Format(time.RFC3339), len(h.rec.exchanges))
	for i, x := range h.rec.exchanges {
		writeSection(&b, fmt.Sprintf("%03d request", i+1), h.d, x.Request)
		if x.Reply != nil {
			writeSection(&b, fmt.Sprintf("%03d reply", i+1), h.d, x.Reply)
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

func writeSection(b *bytes.Buffer, name string, d iso.Dialect, body []byte) {
	fmt.Fprintf(b, "-- %s --\n", name)
	if m, err := d.Decode(body); err == nil {
		for _, line := range strings.Split(strings.TrimRight(m.Dump(), "\n"), "\n") {
			fmt.Fprintf(b, "# %s\n", line)
		}
	}
	fmt.Fprintf(b, "%s\n", strings.ToUpper(hex.EncodeToString(body)))
}

// ReadRecording reads a recording written by WriteRecording.
func ReadRecording(path string) ([]Exchange, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []Exchange
	var name string
	for _, line := range strings.Split(string(data), "\n") {
		switch {
		case strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --"):
			name = strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")
			if strings.HasSuffix(name, " request") {
				out = append(out, Exchange{})
			}
		case name == "", strings.HasPrefix(line, "#"), strings.TrimSpace(line) == "":
		default:
			body, err := hex.DecodeString(strings.TrimSpace(line))
			if err != nil || len(out) == 0 {
				return nil, fmt.Errorf("switchtest: %s: section %q is not hex", path, name)
			}
			if strings.HasSuffix(name, " request") {
				out[len(out)-1].Request = body
			} else {
				out[len(out)-1].Reply = body
			}
		}
	}
	return out, nil
}

// Exchanges returns the exchanges recorded so far (WithRecording), in
// order; nil when the host does not record.
func (h *Host) Exchanges() []Exchange {
	if h.rec == nil {
		return nil
	}
	h.rec.mu.Lock()
	defer h.rec.mu.Unlock()
	return append([]Exchange(nil), h.rec.exchanges...)
}
