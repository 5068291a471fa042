package iso87

import "github.com/posswitch/posswitch/iso"

import "fmt"

// Profile is which of the two ISO 8583:1987 conventions the ISO87
// dialect speaks. Both use the same field formats (jpos/jPOS
// jpos/src/main/java/org/jpos/iso/packager/ISO87APackager.java); they
// differ in how a void, a settlement and a batch upload are spelt.
type Profile int

const (
	// ProfileTerminal, the default, is the terminal-to-host convention of
	// Hypercom/TSYS-style POS hosts (resza/MAB source/global.c glTranConfig
	// and source/tranproc.c; MohamedHassanNasr/EDC-ANDROID-SUNMI
	// .../utils/TransConstant.java and .../transaction/sale/PackTrans.java):
	// a void is a reversible 0200 020000, settlement totals travel in F63,
	// financial messages carry F24 NII and F62 invoice, an upload is one
	// 0320 per live transaction with F60 = MTI + STAN + 12 spaces.
	ProfileTerminal Profile = iota
	// ProfileHostToHost is the acquirer-to-network convention: a void is a
	// 0400 customer-cancellation reversal (F39 17) repeated as 0401, the
	// reconciliation totals travel in F74–F77, F86–F89 and F97, reversals
	// carry F90.
	ProfileHostToHost
)

func (p Profile) String() string {
	switch p {
	case ProfileTerminal:
		return "terminal"
	case ProfileHostToHost:
		return "host-to-host"
	}
	return fmt.Sprintf("Profile(%d)", int(p))
}

// WithProfile chooses the ISO87 convention (default ProfileTerminal).
func WithProfile(p Profile) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "iso87.WithProfile applies to ISO87 only"), func(b *iso87Dialect) error {
			if p != ProfileTerminal && p != ProfileHostToHost {
				return iso.InvalidField("Profile", "unknown profile")
			}
			b.iso87Profile = p
			return nil
		})
	}
}

// WithNII sets F24, the network international identifier (n3) ISO87's
// terminal profile sends on every request (resza/MAB source/tranproc.c
// SetCommReqField sets it from the acquirer's NII). Without it F24 is the
// last three digits of the TPDU's destination address (WithTPDU), "000"
// without a TPDU. The two need not agree: MohamedHassanNasr/EDC-ANDROID-SUNMI
// .../transaction/sale/PackTrans.java sends TPDU 6000910085 with F24 107,
// so set the acquirer's NII explicitly when it has one.
func WithNII(nii string) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "iso87.WithNII applies to ISO87 only"), func(b *iso87Dialect) error {
			if len(nii) != 3 || !iso.IsDigits(nii) {
				return iso.InvalidField("NII", "must be three digits")
			}
			b.nii = nii
			return nil
		})
	}
}

// WithPINEntryCapability says whether the terminal can take a PIN. ISO
// 8583:1987 F22 position 3 is the terminal's PIN entry capability (1 can,
// 2 cannot), not whether a PIN came with this card; ISO87 sends 1 by
// default, 2 after WithPINEntryCapability(false). A request with a PIN
// block from a terminal declared unable is refused.
func WithPINEntryCapability(can bool) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "iso87.WithPINEntryCapability applies to ISO87 only: CUP's third F22 digit says whether a PIN was entered"), func(b *iso87Dialect) error {
			b.noPINPad = !can
			return nil
		})
	}
}

// invoiceOr is the invoice, or the STAN when none was given.
func invoiceOr(i iso.Invoice, s iso.STAN) string {
	if i == 0 {
		return s.String()
	}
	return i.String()
}

func (d *iso87Dialect) terminal() bool { return d.iso87Profile == ProfileTerminal }

// niiOf is F24: the configured NII, else the last three digits of the
// TPDU's destination address.
func (d *iso87Dialect) niiOf() string {
	if d.nii != "" {
		return d.nii
	}
	if dest := fmt.Sprintf("%02X%02X", d.TPDU()[1], d.TPDU()[2]); iso.IsDigits(dest) {
		return dest[1:]
	}
	return "000"

}

// entryWire spells F22 the ISO 8583:1987 way: the method, then the
// terminal's PIN entry capability.
func (d *iso87Dialect) entryWire(m iso.EntryMethod) string {
	if d.noPINPad {
		return string(m) + "2"
	}
	return string(m) + "1"
}

// Profile is the convention this ISO87 dialect speaks (iso87.WithProfile).
func (d *iso87Dialect) Profile() Profile { return d.iso87Profile }

// WithBinaryBitmap makes ISO87 send its bitmap and b fields as raw bytes
// instead of hex text. CUP's bitmap is always binary.
func WithBinaryBitmap() iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "iso87.WithBinaryBitmap applies to ISO87 only"), func(b *iso87Dialect) error {
			b.SetSpec(iso87Spec(true), true)
			return nil
		})
	}
}

// WithAdviceAfter sets how many reversal attempts (0400, then 0401 repeats)
// an ISO87 terminal makes before it turns the reversal into an advice (0420,
// then 0421 repeats) for store-and-forward. Zero keeps sending 0401.
func WithAdviceAfter(attempts int) iso.Option {
	return func(b *iso.Base) error {
		return configure(b, iso.InvalidField("Option", "iso87.WithAdviceAfter applies to ISO87 only: CUP resends its 0400"), func(b *iso87Dialect) error {
			if attempts < 0 {
				return iso.InvalidField("AdviceAfter", "must not be negative")
			}
			b.adviceAfter = attempts
			return nil
		})
	}
}
