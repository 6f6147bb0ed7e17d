package webhook

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/hoistdev/hoist/internal/apperr"
	"github.com/hoistdev/hoist/internal/secret"
	"github.com/hoistdev/hoist/internal/ulid"
)

// MaxBody is the largest delivery accepted (SPEC §2.4).
const MaxBody = 25 << 20

// acceptedEvents are the events Hoist processes; any other event is stored
// as ignored and answered 202 (GitLab counts 4xx towards disabling a hook).
var acceptedEvents = map[string]bool{
	"Push Hook": true, "Tag Push Hook": true, "Merge Request Hook": true, "Note Hook": true,
}

// droppedHeaders are never stored: the webhook secret, and credentials a
// proxy may have added.
var droppedHeaders = map[string]bool{"X-Gitlab-Token": true, "Authorization": true, "Cookie": true, "Proxy-Authorization": true}

// SecretHeader reports whether a header is one Hoist never stores: the
// webhook secret and credentials. Whoever shows stored headers checks it
// too, so that no row, however it was written, shows one.
func SecretHeader(name string) bool { return droppedHeaders[http.CanonicalHeaderKey(name)] }

// Config configures the Intake. Zero values take the defaults.
type Config struct {
	Store  Store
	Box    *secret.Box // opens webhook secrets
	Logger *slog.Logger
	Clock  func() time.Time
	// Wake is called after deliveries with jobs were committed (the job
	// queue's Wake); nil does nothing.
	Wake func()
	// MaxBatch bounds the deliveries of one transaction (default 256).
	MaxBatch int
	// Writers is how many batches may commit at once (default 1). One is
	// best measured on both databases: SQLite has one writer anyway, and on
	// PostgreSQL fewer, larger batches beat overlapping commits
	// (docs/benchmarks.md).
	Writers int
	// Metrics counts the answers; nil counts nothing.
	Metrics Metrics
	// Recent is handed each accepted delivery, for this server's own
	// processing; nil hands nothing.
	Recent *Recent
}

// Intake is the handler of POST /webhooks/gitlab/{id}; the route must
// bind the path value "id".
type Intake struct {
	log     *slog.Logger
	clock   func() time.Time
	metrics Metrics
	secrets *secretCache
	batch   *batcher
	recent  *Recent
	bufs    sync.Pool
}

// NewIntake returns a running Intake; Close stops it.
func NewIntake(cfg Config) *Intake {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Clock == nil {
		cfg.Clock = time.Now
	}
	if cfg.Wake == nil {
		cfg.Wake = func() {}
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.Writers <= 0 {
		cfg.Writers = 1
	}
	if cfg.Metrics == nil {
		cfg.Metrics = noMetrics{}
	}
	return &Intake{
		log: cfg.Logger, clock: cfg.Clock, metrics: cfg.Metrics,
		secrets: newSecretCache(cfg.Store, cfg.Box),
		batch:   newBatcher(cfg.Store, cfg.Logger, cfg.MaxBatch, cfg.Writers, cfg.Wake),
		recent:  cfg.Recent,
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// Close stops the intake after the deliveries in flight are stored. Stop
// the HTTP server first. Safe to call more than once.
func (in *Intake) Close() { in.batch.close() }

// answer is the small JSON body of a 2xx (GitLab stores response bodies).
type answer struct {
	ID        string `json:"id"`
	Status    Status `json:"status"`
	Duplicate bool   `json:"duplicate,omitempty"`
}

// ServeHTTP receives one delivery (SPEC §2.4) and counts its outcome.
func (in *Intake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now() // the monotonic clock, not in.clock: a latency, never stored
	id := r.PathValue("id")
	outcome := in.receive(w, r, id)
	if outcome == IntakeUnknown {
		id = "" // anyone can make up ids: they stay out of the labels
	}
	in.metrics.DeliveryReceived(id, EventLabel(r.Header.Get("X-Gitlab-Event")), outcome, time.Since(start))
}

// receive answers one delivery request.
//
// The token is checked against the cached secret; the batch transaction
// then confirms that the integration still has the secret the token was
// checked against (one read per batch instead of one per request). If it
// changed — rotated, updated, deleted, perhaps on another server — the
// delivery is not stored and the check runs again on a fresh read.
func (in *Intake) receive(w http.ResponseWriter, r *http.Request, id string) IntakeResult {
	ctx := r.Context()
	var d NewDelivery
	for fresh := false; ; fresh = true {
		sealed, refused := in.authenticate(w, r, id, fresh)
		if refused != "" {
			return refused
		}
		if d.Body == nil {
			var status int
			var msg string
			if d, status, msg = in.read(w, r, id); status != 0 {
				fail(w, status, msg)
				return IntakeInvalid
			}
			if d.Job != nil {
				// Before it is stored: its job may be taken as soon as it
				// commits. One that is not stored (a duplicate, a failed
				// batch) is never asked for and expires.
				in.recent.put(d.Delivery)
			}
		}
		d.CheckedSecret = sealed
		ins, err := in.batch.submit(ctx, d)
		if err != nil {
			if ctx.Err() == nil {
				in.log.ErrorContext(ctx, "store webhook delivery", "integration_id", id, "error", err)
			}
			fail(w, http.StatusServiceUnavailable, "delivery not stored; try again")
			return IntakeUnavailable
		}
		if ins.SecretChanged && !fresh {
			in.secrets.forget(id)
			continue
		}
		in.putBuf(d.Body) // stored: the buffer is free (after an error the writer may still hold it)
		return in.answer(w, ins)
	}
}

// authenticate checks X-Gitlab-Token in constant time against the
// integration's secret (cached unless fresh) and answers 404, 401 or 503
// when it fails, returning that outcome; else it returns the sealed secret
// the token matched.
func (in *Intake) authenticate(w http.ResponseWriter, r *http.Request, id string, fresh bool) ([]byte, IntakeResult) {
	ctx := r.Context()
	key, sealed, err := in.secrets.secret(ctx, id, fresh)
	switch {
	case apperr.Is(err, apperr.NotFound):
		fail(w, http.StatusNotFound, "unknown integration")
		return nil, IntakeUnknown
	case err != nil:
		in.log.ErrorContext(ctx, "webhook secret lookup failed", "integration_id", id, "error", err)
		fail(w, http.StatusServiceUnavailable, "try again later")
		return nil, IntakeUnavailable
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("X-Gitlab-Token")), key) != 1 {
		// A 4xx counts towards GitLab disabling the hook: say so loudly.
		in.log.WarnContext(ctx, "webhook refused: wrong or missing X-Gitlab-Token", "integration_id", id,
			"remote_addr", r.RemoteAddr)
		w.WriteHeader(http.StatusUnauthorized)
		return nil, IntakeUnauthorized
	}
	return sealed, ""
}

// answer writes the 2xx of a stored delivery; a secret that changed again
// between the fresh check and the commit is a 503 (GitLab may resend).
func (in *Intake) answer(w http.ResponseWriter, ins Inserted) IntakeResult {
	switch {
	case ins.SecretChanged:
		fail(w, http.StatusServiceUnavailable, "the integration changed; try again")
		return IntakeUnavailable
	case ins.Duplicate:
		writeJSON(w, http.StatusOK, answer{ID: ins.ID, Status: ins.Status, Duplicate: true})
		return IntakeDuplicate
	case ins.Status == Ignored:
		writeJSON(w, http.StatusAccepted, answer{ID: ins.ID, Status: ins.Status})
		return IntakeIgnored
	default:
		writeJSON(w, http.StatusAccepted, answer{ID: ins.ID, Status: ins.Status})
		return IntakeAccepted
	}
}

// read reads and checks the body and builds the delivery; a non-zero
// status is the refusal to answer.
func (in *Intake) read(w http.ResponseWriter, r *http.Request, integrationID string) (NewDelivery, int, string) {
	event := r.Header.Get("X-Gitlab-Event")
	if event == "" {
		return NewDelivery{}, http.StatusBadRequest, "missing X-Gitlab-Event header"
	}
	if r.ContentLength > MaxBody {
		return NewDelivery{}, http.StatusRequestEntityTooLarge, "body is larger than 25 MiB"
	}
	buf := in.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	_, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, MaxBody))
	body := buf.Bytes()
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		in.putBuf(body)
		return NewDelivery{}, http.StatusRequestEntityTooLarge, "body is larger than 25 MiB"
	case err != nil:
		in.putBuf(body)
		return NewDelivery{}, http.StatusBadRequest, "could not read the body"
	case !isJSONObject(body):
		in.putBuf(body)
		return NewDelivery{}, http.StatusBadRequest, "body is not a JSON object"
	}
	now := in.clock().UTC()
	d := NewDelivery{Delivery: Delivery{
		ID: ulid.New(now), IntegrationID: integrationID, DedupeKey: dedupeKey(r.Header, body),
		Event: event, Headers: storedHeaders(r.Header), Body: body, Status: Received,
		ReceivedAt: now, UpdatedAt: now,
	}}
	if acceptedEvents[event] {
		job := ProcessJob(d.ID)
		d.Job = &job
	} else {
		d.Status = Ignored
		d.Project, d.Ref = peek(body)
	}
	return d, 0, ""
}

func (in *Intake) putBuf(b []byte) {
	if cap(b) <= 1<<20 { // keep the pool to ordinary payloads
		in.bufs.Put(bytes.NewBuffer(b[:0]))
	}
}

func isJSONObject(body []byte) bool {
	t := bytes.TrimLeft(body, " \t\r\n")
	return len(t) > 0 && t[0] == '{' && json.Valid(body)
}

// dedupeKey is Idempotency-Key, else X-Gitlab-Event-UUID, else the body's
// SHA-256 (SPEC §2.4). Overlong header values are hashed to bound the index.
func dedupeKey(h http.Header, body []byte) string {
	for _, src := range []struct{ header, prefix string }{
		{"Idempotency-Key", "idempotency-key:"}, {"X-Gitlab-Event-UUID", "event-uuid:"},
	} {
		if v := strings.TrimSpace(h.Get(src.header)); v != "" {
			if len(v) > 128 {
				sum := sha256.Sum256([]byte(v))
				v = "sha256-" + hex.EncodeToString(sum[:])
			}
			return src.prefix + v
		}
	}
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func storedHeaders(h http.Header) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		if !droppedHeaders[k] {
			out[k] = strings.Join(v, ", ")
		}
	}
	return out
}

// peek reads the project and ref of an ignored event for the log; the
// processing of accepted events fills them in properly.
func peek(body []byte) (project, ref string) {
	var p struct {
		Ref     string `json:"ref"`
		Project struct {
			Path string `json:"path_with_namespace"`
		} `json:"project"`
	}
	_ = json.Unmarshal(body, &p) // best effort: the body is valid JSON already
	return p.Project.Path, p.Ref
}

func fail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v) // answer and map[string]string always encode
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
