//go:build linux

package sandbox

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/landlock-lsm/go-landlock/landlock"
	llsys "github.com/landlock-lsm/go-landlock/landlock/syscall"
	"golang.org/x/sys/unix"
	"kernel.org/pub/linux/libs/security/libcap/psx"
)

// systemDirs are read (and executed) by every run: programs, libraries,
// certificates. /etc is not among them as a whole (it may hold the
// operator's secrets); systemFiles names what programs read there.
// /proc is not readable at all: other processes' command lines and
// environments (the server's among them) live there.
var systemDirs = []string{
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
	"/etc/ssl", "/etc/pki", "/etc/ca-certificates", "/etc/alternatives",
}

var systemFiles = []string{
	"/etc/resolv.conf", "/etc/hosts", "/etc/nsswitch.conf", "/etc/host.conf", "/etc/gai.conf",
	"/etc/passwd", "/etc/group", "/etc/localtime", "/etc/ld.so.cache", "/etc/protocols",
	"/etc/services", "/etc/mime.types",
}

// devices are read and written: the ones programs open by name.
var devices = []string{"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom"}

// exitSetup is the re-exec step's own failure (like env(1)'s 125).
const exitSetup = 125

func landlockABI() (int, error) {
	v, err := llsys.LandlockGetABIVersion()
	if err != nil {
		return 0, fmt.Errorf("the Landlock LSM is not available (%v); it needs Linux 5.13+ with landlock in the lsm= boot list", err)
	}
	return v, nil
}

// setNamespaces asks for the re-exec step's namespaces: mount and IPC, and
// a user namespace (mapping the server's user to root inside, which is
// what lets an unprivileged server create the others) when not root.
func setNamespaces(attr *syscall.SysProcAttr, userNS bool) {
	attr.Cloneflags |= syscall.CLONE_NEWNS | syscall.CLONE_NEWIPC
	if userNS {
		attr.Cloneflags |= syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getgid(), Size: 1}}
		attr.GidMappingsEnableSetgroups = false
	}
}

// Dispatch serves the re-exec step when this process was started as it
// (os.Args[1] == Command) and never returns then. main calls it first, and
// so does TestMain in every test binary whose tests execute runs.
func Dispatch() {
	if len(os.Args) > 1 && os.Args[1] == Command {
		os.Exit(Main(os.Args[2:], os.Stderr))
	}
}

// Main is `hoist sandbox-exec SPEC -- PROGRAM [ARG…]`: hide, restrict
// this process, start PROGRAM, wait, and exit as it did. Its own failures
// exit 125 with a message on stderr.
func Main(args []string, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintf(stderr, "hoist %s: %v\n", Command, err)
		return exitSetup
	}
	sp, prog, err := parseArgs(args)
	if err != nil {
		return fail(err)
	}
	if err := hide(sp); err != nil {
		return fail(err)
	}
	if sp.UserNS {
		// Root inside the user namespace keeps every capability across
		// exec; an empty bounding set leaves the program none.
		if err := dropBoundingSet(); err != nil {
			return fail(err)
		}
	}
	if err := restrict(sp); err != nil {
		return fail(err)
	}
	cmd := exec.Command(prog[0], prog[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = withoutMarker(os.Environ())
	attr := &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if sp.PIDNS {
		attr.Cloneflags = syscall.CLONE_NEWPID
	}
	if sp.UID >= 0 {
		attr.Credential = &syscall.Credential{Uid: uint32(sp.UID), Gid: uint32(sp.GID), Groups: []uint32{}}
	}
	cmd.SysProcAttr = attr
	// The program is in this process group: the server's signals reach it
	// directly. Forwarding them too would make OpenTofu see a second
	// interrupt, which aborts instead of stopping gracefully. (Caught, not
	// ignored: an ignored signal would stay ignored in the program.)
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT)
	go func() {
		for range sigs {
		}
	}()
	err = cmd.Run()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &exit):
		if ws, ok := exit.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return exit.ExitCode()
	default:
		return fail(fmt.Errorf("start %s: %w", prog[0], err))
	}
}

// hide covers each hidden path with an empty read-only file system (a
// folder) or /dev/null (a file), in this process's own mount namespace,
// made private first so that nothing propagates back to the host.
func hide(sp spec) error {
	if len(sp.Hidden) == 0 {
		return nil
	}
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make the mount namespace private: %w", err)
	}
	for _, p := range sp.Hidden {
		fi, err := os.Stat(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return fmt.Errorf("hide %s: %w", p, err)
		}
		if fi.IsDir() {
			err = unix.Mount("hoist-hidden", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=4k,mode=0")
		} else {
			err = unix.Mount("/dev/null", p, "", unix.MS_BIND, "")
		}
		if err != nil {
			return fmt.Errorf("hide %s: %w", p, err)
		}
	}
	return nil
}

func dropBoundingSet() error {
	for c := 0; c <= 63; c++ {
		_, _, errno := psx.Syscall3(unix.SYS_PRCTL, unix.PR_CAPBSET_DROP, uintptr(c), 0)
		if errno == unix.EINVAL {
			return nil // past the kernel's last capability
		}
		if errno != 0 {
			return fmt.Errorf("drop capability %d: %w", c, errno)
		}
	}
	return nil
}

// restrict applies Landlock to this process (all its threads) and so to
// everything it starts: file access is denied everywhere but the rules'
// paths; signals and abstract sockets cannot reach processes outside.
// Network access is not restricted: providers and modules need it.
func restrict(sp spec) error {
	abi, err := landlockABI()
	if err != nil {
		return err
	}
	if abi < MinLandlockABI {
		// BestEffort would quietly restrict less.
		return fmt.Errorf("the kernel offers Landlock ABI %d; Hoist needs %d or later", abi, MinLandlockABI)
	}
	rules := []landlock.Rule{
		landlock.RODirs(systemDirs...).IgnoreIfMissing(),
		landlock.ROFiles(systemFiles...).IgnoreIfMissing(),
		landlock.RWFiles(devices...).IgnoreIfMissing(),
		// Refer: OpenTofu moves provider downloads between folders.
		landlock.RWDirs(sp.Writable...).WithRefer().WithResolveUnix(),
	}
	for _, p := range sp.Readable {
		fi, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("readable path %s: %w", p, err)
		}
		if fi.IsDir() {
			rules = append(rules, landlock.RODirs(p))
		} else {
			rules = append(rules, landlock.ROFiles(p))
		}
	}
	cfg := landlock.Config{HandledAccessFS: landlock.V11.HandledAccessFS, Scoped: landlock.V11.Scoped}
	if err := cfg.BestEffort().Restrict(rules...); err != nil {
		return fmt.Errorf("landlock: %w", err)
	}
	return nil
}
