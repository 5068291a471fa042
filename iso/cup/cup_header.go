package cup

import "github.com/posswitch/posswitch/iso"

// Header is the 6-byte BCD message header a CUP terminal puts between the
// TPDU and the MTI. CaoEnXin/LiaoYang_POS Src/trancomm.c MakeReqPacket
// builds it as 60 31 00 followed by the terminal's software version in BCD;
// wuxinxi/unionpay sends 61 31 00 31 30 31. The published default, and
// posswitch's, is 60 31 00 00 00 00 (DefaultHeader).
//
//	byte 1     AppType: application type, 60 for a POS terminal
//	byte 2     Version: overall software version, 31
//	byte 3     high nibble Status (0 normal, 1 test); low nibble the
//	           processing requirement, 0 in a request, set by the host in
//	           its reply (HostRequirement)
//	bytes 4–6  SubVersion: the terminal's software sub-version, 6 digits
type Header struct {
	AppType    byte   // BCD, e.g. 0x60
	Version    byte   // BCD, e.g. 0x31
	Status     byte   // 0 normal, 1 test
	SubVersion string // exactly 6 digits, sent as 3 BCD bytes
}

// DefaultHeader is 60 31 00 00 00 00: a POS in normal use, version 31,
// sub-version 000000.
func DefaultHeader() Header {
	return Header{AppType: 0x60, Version: 0x31, SubVersion: "000000"}
}

func isBCDByte(b byte) bool { return b>>4 <= 9 && b&0x0F <= 9 }

// Validate refuses a header the CUP layout cannot carry; errors are
// *FieldError (ErrInvalidInput).
func (h Header) Validate() error {
	switch {
	case h.AppType == 0 || !isBCDByte(h.AppType):
		return iso.InvalidField("Header.AppType", "must be a non-zero BCD byte such as 0x60")
	case !isBCDByte(h.Version):
		return iso.InvalidField("Header.Version", "must be a BCD byte such as 0x31")
	case h.Status > 1:
		return iso.InvalidField("Header.Status", "must be 0 (normal) or 1 (test)")
	case len(h.SubVersion) != 6:
		return iso.InvalidField("Header.SubVersion", "must be exactly 6 digits, got %d characters", len(h.SubVersion))
	case !iso.IsDigits(h.SubVersion):
		return iso.InvalidField("Header.SubVersion", "must be digits only")
	}
	return nil
}

// Bytes spells the header as it goes on the wire (processing requirement 0).
func (h Header) Bytes() []byte {
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

// WithHeader sets the header CUP requests carry (see Header); the
// default is DefaultHeader. A header Validate refuses is an error of the
// dialect's constructor; on ISO87, which has no header, the option is
// refused.
func WithHeader(h Header) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "cup.WithHeader applies to CUP only"), func(b *cupDialect) error {
			if err := h.Validate(); err != nil {
				return err
			}
			return b.SetHeader(h.Bytes())
		})
	}
}

// cupRequirement reads the processing requirement of a CUP reply header.
func cupRequirement(fr iso.Frame) iso.HostRequirement {
	if len(fr.Header) != cupHeaderLen {
		return iso.RequireNone
	}
	return iso.HostRequirement(fr.Header[2] & 0x0F)
}

const cupHeaderLen = 6
