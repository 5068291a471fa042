package iso

import "fmt"

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

// requirementHeaderLen is the length of the header whose third byte's low
// nibble carries the requirement (CUP's 6-byte header).
const requirementHeaderLen = 6

// SetHostRequirement returns fr with r as the processing requirement of its
// CUP header: what a host calls on its reply frame to ask the terminal for
// a download or a new sign-on. The header is copied, fr is not changed. A
// frame without a 6-byte CUP header (ISO87), or r above 15, is refused with
// a *FieldError.
func SetHostRequirement(fr Frame, r HostRequirement) (Frame, error) {
	if len(fr.Header) != requirementHeaderLen {
		return fr, InvalidField("Frame.Header", "no CUP header to carry a processing requirement")
	}
	if r > 0x0F {
		return fr, InvalidField("HostRequirement", "must fit one nibble (0–15)")
	}
	h := append([]byte(nil), fr.Header...)
	h[2] = h[2]&0xF0 | byte(r)
	fr.Header = h
	return fr, nil
}
