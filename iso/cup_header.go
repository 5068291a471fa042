package iso

import "fmt"

// CUPHeader is the 6-byte BCD message header a CUP terminal puts between the
// TPDU and the MTI. CaoEnXin/LiaoYang_POS Src/trancomm.c MakeReqPacket
// builds it as 60 31 00 followed by the terminal's software version in BCD;
// wuxinxi/unionpay sends 61 31 00 31 30 31. The published default, and
// posswitch's, is 60 31 00 00 00 00 (DefaultCUPHeader).
//
//	byte 1     AppType: application type, 60 for a POS terminal
//	byte 2     Version: overall software version, 31
//	byte 3     high nibble Status (0 normal, 1 test); low nibble the
//	           processing requirement, 0 in a request, set by the host in
//	           its reply (HostRequirement)
//	bytes 4–6  SubVersion: the terminal's software sub-version, 6 digits
type CUPHeader struct {
	AppType    byte   // BCD, e.g. 0x60
	Version    byte   // BCD, e.g. 0x31
	Status     byte   // 0 normal, 1 test
	SubVersion string // exactly 6 digits, sent as 3 BCD bytes
}

// DefaultCUPHeader is 60 31 00 00 00 00: a POS in normal use, version 31,
// sub-version 000000.
func DefaultCUPHeader() CUPHeader {
	return CUPHeader{AppType: 0x60, Version: 0x31, SubVersion: "000000"}
}

func isBCDByte(b byte) bool { return b>>4 <= 9 && b&0x0F <= 9 }

// Validate refuses a header the CUP layout cannot carry; errors are
// *FieldError (ErrInvalidInput).
func (h CUPHeader) Validate() error {
	switch {
	case h.AppType == 0 || !isBCDByte(h.AppType):
		return invalid("CUPHeader.AppType", "must be a non-zero BCD byte such as 0x60")
	case !isBCDByte(h.Version):
		return invalid("CUPHeader.Version", "must be a BCD byte such as 0x31")
	case h.Status > 1:
		return invalid("CUPHeader.Status", "must be 0 (normal) or 1 (test)")
	case len(h.SubVersion) != 6:
		return invalid("CUPHeader.SubVersion", "must be exactly 6 digits, got %d characters", len(h.SubVersion))
	case !isDigits(h.SubVersion):
		return invalid("CUPHeader.SubVersion", "must be digits only")
	}
	return nil
}

// Bytes spells the header as it goes on the wire (processing requirement 0).
func (h CUPHeader) Bytes() []byte {
	out := []byte{h.AppType, h.Version, h.Status << 4, 0, 0, 0}
	for i := 0; i < 6 && i < len(h.SubVersion); i++ {
		nib := h.SubVersion[i] - '0'
		if i%2 == 0 {
			out[3+i/2] = nib << 4
		} else {
			out[3+i/2] |= nib
		}
	}
	return out
}

// WithCUPHeader sets the header CUP requests carry (see CUPHeader); the
// default is DefaultCUPHeader. A header Validate refuses is an error of the
// dialect's constructor; on ISO87, which has no header, the option is
// refused.
func WithCUPHeader(h CUPHeader) Option {
	return func(b *base) error {
		if b.name != "CUP" {
			return invalid("Option", "WithCUPHeader applies to CUP only")
		}
		if err := h.Validate(); err != nil {
			return err
		}
		b.header = h.Bytes()
		return nil
	}
}

// HostRequirement is what a CUP host asks the terminal to do next, in the
// low nibble of the third byte of its reply header (the "processing
// requirement"; CaoEnXin/LiaoYang_POS Src/trancomm.c OnlineDownOrUp acts on
// it). ISO87 frames carry none.
type HostRequirement uint8

// Processing requirements a CUP host sends. Values 8–15 are not assigned;
// they are passed on as they are.
const (
	RequireNone                HostRequirement = 0 // nothing to do
	RequireParameterDownload   HostRequirement = 1 // download terminal parameters
	RequireStatusUpload        HostRequirement = 2 // upload the terminal status
	RequireSignOn              HostRequirement = 3 // sign on again
	RequireCAPKDownload        HostRequirement = 4 // download the IC CA public keys
	RequireICParameterDownload HostRequirement = 5 // download the IC parameters
	RequireTMSDownload         HostRequirement = 6 // TMS application download
	RequireBlacklistDownload   HostRequirement = 7 // download the blacklist
)

// String names the requirement, for logs.
func (r HostRequirement) String() string {
	switch r {
	case RequireNone:
		return "none"
	case RequireParameterDownload:
		return "download parameters"
	case RequireStatusUpload:
		return "upload terminal status"
	case RequireSignOn:
		return "sign on again"
	case RequireCAPKDownload:
		return "download IC CA public keys"
	case RequireICParameterDownload:
		return "download IC parameters"
	case RequireTMSDownload:
		return "TMS application download"
	case RequireBlacklistDownload:
		return "download blacklist"
	}
	return fmt.Sprintf("HostRequirement(%d)", uint8(r))
}

// cupRequirement reads the processing requirement of a CUP reply header.
func cupRequirement(fr Frame) HostRequirement {
	if len(fr.Header) != cupHeaderLen {
		return RequireNone
	}
	return HostRequirement(fr.Header[2] & 0x0F)
}

const cupHeaderLen = 6

// SetHostRequirement returns fr with r as the processing requirement of its
// CUP header: what a host calls on its reply frame to ask the terminal for
// a download or a new sign-on. The header is copied, fr is not changed. A
// frame without a 6-byte CUP header (ISO87), or r above 15, is refused with
// a *FieldError.
func SetHostRequirement(fr Frame, r HostRequirement) (Frame, error) {
	if len(fr.Header) != cupHeaderLen {
		return fr, invalid("Frame.Header", "no CUP header to carry a processing requirement")
	}
	if r > 0x0F {
		return fr, invalid("HostRequirement", "must fit one nibble (0–15)")
	}
	h := append([]byte(nil), fr.Header...)
	h[2] = h[2]&0xF0 | byte(r)
	fr.Header = h
	return fr, nil
}
