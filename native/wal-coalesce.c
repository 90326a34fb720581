/*
 * wal-coalesce: a SQLite VFS that writes a transaction's WAL frames in a few large writes.
 *
 * SQLite writes each WAL frame with two system calls, its 24-byte header and then its page
 * (wal.c, walWriteOneFrame), so a commit of 2,000 frames makes 4,000 `pwrite` calls, which on a
 * virtual machine cost 1–4 µs each. This VFS sits over the default one and, for WAL files only,
 * gathers writes that extend the file contiguously into a buffer of up to 124 KiB (the most the
 * default VFS writes in one call), written with one `pwrite` (through the default VFS) when it is
 * full, when a write is not contiguous, before any other operation on the file (read, sync,
 * truncate, size, close, file control), and at the end of every commit frame.
 *
 * Why that is safe. A reader, in this connection or any other, sees a frame only once the
 * wal-index header names it, which the writer updates after `walFrames` returns. So every frame
 * of a commit must be in the file (handed to the kernel, as without this VFS) by then:
 * - A commit frame is the last frame `walFrames` writes (header with a non-zero "database size
 *   after commit" field, then its page). Its page, written right after a buffered header, is the
 *   write that flushes the buffer; the error of that `pwrite`, if any, is the commit's error.
 * - A commit-frame header written when nothing is buffered (checksums rewritten after a frame was
 *   overwritten in place, or padding frames written under `synchronous = FULL`) goes straight
 *   through, and so does a page that does not follow a buffered header. Buffering only ever
 *   starts at the WAL's own header or at a frame header that is not a commit's.
 * - A read (the writer reading its own spilled frames, checksums rewritten) flushes first, so
 *   the file never lags what SQLite believes it wrote.
 * Frames of a transaction not yet committed may wait in the buffer, exactly as if they were not
 * yet written: no reader can see them, and after a crash they are frames that were never written.
 * Durability is unchanged: the commit's frames reach the kernel before the commit returns, and
 * the syncs SQLite or Tally ask for flush the buffer first.
 * A safety net holds the same line from the other side: SQLite publishes new frames by writing
 * the wal-index header around a memory barrier (`xShmBarrier` on the database file), and each
 * database file knows the WAL its connection opened, so a barrier flushes whatever that WAL still
 * buffers. By the rules above it finds nothing; `tally_wal_coalesce()` counts the barriers seen
 * and the flushes they made, and the tests check the second stays zero.
 *
 * Loaded as an extension (`sqlite3_extension_init`), it registers itself as the default VFS and
 * stays loaded when the loading connection closes. It adds two functions to every connection
 * opened afterwards: `tally_wal_coalesce_enable()`, which a connection calls to have its
 * database's WAL writes gathered (every other file passes straight through), and
 * `tally_wal_coalesce()`, a JSON text of the process's counts (writes asked for, `pwrite` calls
 * made, flushes), for tests and benchmarks.
 */
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <stdio.h>
#include "sqlite3ext.h"
SQLITE_EXTENSION_INIT1

#define WAL_HEADER_SIZE 32
#define FRAME_HEADER_SIZE 24
/* The default VFS writes at most 128 KiB - 1 bytes in one call (os_unix.c, seekAndWriteFd). */
#define BUFFER_SIZE (124 * 1024)

typedef struct CoalesceFile CoalesceFile;
struct CoalesceFile {
  sqlite3_file base;     /* this VFS's methods */
  sqlite3_file *real;    /* the default VFS's file, allocated right after this struct */
  int isWal;
  const char *databaseName; /* a WAL's database, as SQLite names it (valid while the file is open) */
  int coalesces;         /* whether that database asked for coalescing, as of `generation` */
  int generation;
  unsigned char *buf;    /* gathered writes, `len` bytes from file offset `off` */
  int len;
  sqlite3_int64 off;
  int commitHeaderAt;    /* offset in `buf` just past a buffered commit-frame header, or -1 */
  /* A main database file: the name SQLite opened it by (its pager's), and the WAL that pager opened. */
  const char *openedAs;
  CoalesceFile *wal;
  CoalesceFile *nextOpen; /* the list of open main database files */
  /* A WAL: its connection's main database file, while both are open. */
  CoalesceFile *database;
};

/*
 * Open main database files, so that a WAL's open finds its own connection's database file: SQLite
 * opens a WAL by a name inside the same allocation as the database's name, and
 * `sqlite3_filename_database` gives back the very pointer the database was opened by.
 */
static pthread_mutex_t openMutex = PTHREAD_MUTEX_INITIALIZER;
static CoalesceFile *openDatabases = 0;

static sqlite3_vfs *realVfs = 0;

/*
 * The databases whose WAL writes are coalesced: those whose connection called
 * `tally_wal_coalesce_enable()`. Every other file passes straight through, so a process that
 * loaded this VFS for its own databases leaves others (a benchmark's reference ledger) as they were.
 */
typedef struct Enabled Enabled;
struct Enabled {
  Enabled *next;
  char name[1];
};
static pthread_mutex_t enabledMutex = PTHREAD_MUTEX_INITIALIZER;
static Enabled *enabledList = 0;
static int enabledGeneration = 0;

static int isEnabled(const char *databaseName) {
  Enabled *e;
  int found = 0;
  pthread_mutex_lock(&enabledMutex);
  for (e = enabledList; e != 0 && !found; e = e->next) found = strcmp(e->name, databaseName) == 0;
  pthread_mutex_unlock(&enabledMutex);
  return found;
}

static int enable(const char *databaseName) {
  size_t length = strlen(databaseName);
  Enabled *e;
  if (isEnabled(databaseName)) return SQLITE_OK;
  e = (Enabled *)malloc(sizeof(Enabled) + length);
  if (e == 0) return SQLITE_NOMEM;
  memcpy(e->name, databaseName, length + 1);
  pthread_mutex_lock(&enabledMutex);
  e->next = enabledList;
  enabledList = e;
  __atomic_add_fetch(&enabledGeneration, 1, __ATOMIC_RELEASE);
  pthread_mutex_unlock(&enabledMutex);
  return SQLITE_OK;
}

/* Whether this WAL's writes are gathered; looked up again only after a database was enabled. */
static int coalesces(CoalesceFile *p) {
  int generation = __atomic_load_n(&enabledGeneration, __ATOMIC_ACQUIRE);
  if (p->generation != generation) {
    p->coalesces = p->databaseName != 0 && isEnabled(p->databaseName);
    p->generation = generation;
  }
  return p->coalesces;
}

/* Counters for the whole process (every connection, every thread). */
static sqlite3_int64 writesAsked = 0;
static sqlite3_int64 writesMade = 0;
static sqlite3_int64 flushes = 0;
static sqlite3_int64 barriers = 0;
static sqlite3_int64 barrierFlushes = 0;

static void count(sqlite3_int64 *counter, sqlite3_int64 n) {
  __atomic_add_fetch(counter, n, __ATOMIC_RELAXED);
}

static int flushBuffer(CoalesceFile *p) {
  int rc;
  if (p->len == 0) return SQLITE_OK;
  rc = p->real->pMethods->xWrite(p->real, p->buf, p->len, p->off);
  count(&writesMade, 1);
  count(&flushes, 1);
  p->len = 0;
  p->commitHeaderAt = -1;
  return rc;
}

static int writeThrough(CoalesceFile *p, const void *data, int amount, sqlite3_int64 offset) {
  count(&writesMade, 1);
  return p->real->pMethods->xWrite(p->real, data, amount, offset);
}

/* A frame header whose "database size after commit" field (bytes 4–7) is set. */
static int isCommitHeader(const unsigned char *data, int amount) {
  return amount == FRAME_HEADER_SIZE && (data[4] | data[5] | data[6] | data[7]) != 0;
}

static int walWrite(CoalesceFile *p, const void *data, int amount, sqlite3_int64 offset) {
  const unsigned char *bytes = (const unsigned char *)data;
  int rc;
  count(&writesAsked, 1);
  if (p->len > 0 && (offset != p->off + p->len || p->len + amount > BUFFER_SIZE)) {
    rc = flushBuffer(p);
    if (rc != SQLITE_OK) return rc;
  }
  if (p->len == 0) {
    if (!coalesces(p)) return writeThrough(p, data, amount, offset);
    /* Buffering starts only at the WAL header or at a frame header that is not a commit's. */
    int startsRun = (offset == 0 && amount == WAL_HEADER_SIZE) || (amount == FRAME_HEADER_SIZE && !isCommitHeader(bytes, amount));
    if (!startsRun || amount > BUFFER_SIZE) return writeThrough(p, data, amount, offset);
    if (p->buf == 0) {
      p->buf = (unsigned char *)sqlite3_malloc(BUFFER_SIZE);
      if (p->buf == 0) return writeThrough(p, data, amount, offset);
    }
    p->off = offset;
  }
  memcpy(p->buf + p->len, bytes, (size_t)amount);
  p->len += amount;
  if (p->commitHeaderAt >= 0 && p->len > p->commitHeaderAt) {
    /* The commit frame's page: the transaction's last write. */
    return flushBuffer(p);
  }
  if (isCommitHeader(bytes, amount)) p->commitHeaderAt = p->len;
  return SQLITE_OK;
}

/* Takes a file out of the open list and unlinks it from its WAL or database. */
static void forget(CoalesceFile *p) {
  if (p->openedAs == 0 && p->wal == 0 && p->database == 0) return;
  pthread_mutex_lock(&openMutex);
  if (p->openedAs != 0) {
    CoalesceFile **at = &openDatabases;
    while (*at != 0 && *at != p) at = &(*at)->nextOpen;
    if (*at == p) *at = p->nextOpen;
  }
  if (p->wal != 0) p->wal->database = 0;
  if (p->database != 0) p->database->wal = 0;
  p->wal = 0;
  p->database = 0;
  pthread_mutex_unlock(&openMutex);
}

static int cClose(sqlite3_file *f) {
  CoalesceFile *p = (CoalesceFile *)f;
  int rc = flushBuffer(p);
  forget(p);
  int rc2 = p->real->pMethods ? p->real->pMethods->xClose(p->real) : SQLITE_OK;
  sqlite3_free(p->buf);
  p->buf = 0;
  return rc != SQLITE_OK ? rc : rc2;
}

static int cRead(sqlite3_file *f, void *out, int amount, sqlite3_int64 offset) {
  CoalesceFile *p = (CoalesceFile *)f;
  int rc = flushBuffer(p);
  if (rc != SQLITE_OK) return rc;
  return p->real->pMethods->xRead(p->real, out, amount, offset);
}

static int cWrite(sqlite3_file *f, const void *data, int amount, sqlite3_int64 offset) {
  CoalesceFile *p = (CoalesceFile *)f;
  if (p->isWal) return walWrite(p, data, amount, offset);
  return p->real->pMethods->xWrite(p->real, data, amount, offset);
}

static int cTruncate(sqlite3_file *f, sqlite3_int64 size) {
  CoalesceFile *p = (CoalesceFile *)f;
  int rc = flushBuffer(p);
  if (rc != SQLITE_OK) return rc;
  return p->real->pMethods->xTruncate(p->real, size);
}

static int cSync(sqlite3_file *f, int flags) {
  CoalesceFile *p = (CoalesceFile *)f;
  int rc = flushBuffer(p);
  if (rc != SQLITE_OK) return rc;
  return p->real->pMethods->xSync(p->real, flags);
}

static int cFileSize(sqlite3_file *f, sqlite3_int64 *size) {
  CoalesceFile *p = (CoalesceFile *)f;
  int rc = flushBuffer(p);
  if (rc != SQLITE_OK) return rc;
  return p->real->pMethods->xFileSize(p->real, size);
}

static int cLock(sqlite3_file *f, int level) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xLock(p->real, level);
}

static int cUnlock(sqlite3_file *f, int level) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xUnlock(p->real, level);
}

static int cCheckReservedLock(sqlite3_file *f, int *out) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xCheckReservedLock(p->real, out);
}

static int cFileControl(sqlite3_file *f, int op, void *arg) {
  CoalesceFile *p = (CoalesceFile *)f;
  int rc = flushBuffer(p);
  if (rc != SQLITE_OK) return rc;
  return p->real->pMethods->xFileControl(p->real, op, arg);
}

static int cSectorSize(sqlite3_file *f) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xSectorSize(p->real);
}

static int cDeviceCharacteristics(sqlite3_file *f) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xDeviceCharacteristics(p->real);
}

static int cShmMap(sqlite3_file *f, int page, int pageSize, int extend, void volatile **out) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xShmMap(p->real, page, pageSize, extend, out);
}

static int cShmLock(sqlite3_file *f, int offset, int n, int flags) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xShmLock(p->real, offset, n, flags);
}

static void cShmBarrier(sqlite3_file *f) {
  CoalesceFile *p = (CoalesceFile *)f;
  /* The safety net (see the top): frames still buffered reach the file before SQLite publishes
   * them. The database file and its WAL belong to one connection, used by one thread at a time. */
  if (p->wal != 0) {
    count(&barriers, 1);
    if (p->wal->len > 0) {
      count(&barrierFlushes, 1);
      flushBuffer(p->wal);
    }
  }
  p->real->pMethods->xShmBarrier(p->real);
}

static int cShmUnmap(sqlite3_file *f, int deleteFlag) {
  CoalesceFile *p = (CoalesceFile *)f;
  return p->real->pMethods->xShmUnmap(p->real, deleteFlag);
}

static int cFetch(sqlite3_file *f, sqlite3_int64 offset, int amount, void **out) {
  CoalesceFile *p = (CoalesceFile *)f;
  if (p->real->pMethods->iVersion < 3 || p->len > 0) {
    *out = 0;
    return SQLITE_OK;
  }
  return p->real->pMethods->xFetch(p->real, offset, amount, out);
}

static int cUnfetch(sqlite3_file *f, sqlite3_int64 offset, void *ptr) {
  CoalesceFile *p = (CoalesceFile *)f;
  if (p->real->pMethods->iVersion < 3) return SQLITE_OK;
  return p->real->pMethods->xUnfetch(p->real, offset, ptr);
}

static const sqlite3_io_methods coalesceMethods = {
  3, cClose, cRead, cWrite, cTruncate, cSync, cFileSize, cLock, cUnlock, cCheckReservedLock,
  cFileControl, cSectorSize, cDeviceCharacteristics, cShmMap, cShmLock, cShmBarrier, cShmUnmap,
  cFetch, cUnfetch,
};

static int cOpen(sqlite3_vfs *vfs, sqlite3_filename name, sqlite3_file *f, int flags, int *outFlags) {
  CoalesceFile *p = (CoalesceFile *)f;
  int rc;
  (void)vfs;
  memset(p, 0, sizeof(*p));
  p->real = (sqlite3_file *)&p[1];
  p->commitHeaderAt = -1;
  p->isWal = (flags & SQLITE_OPEN_WAL) != 0;
  p->generation = -1;
  if (p->isWal && name != 0) p->databaseName = sqlite3_filename_database(name);
  rc = realVfs->xOpen(realVfs, name, p->real, flags, outFlags);
  /* The methods are set even when opening failed, so that SQLite's close reaches the real file's. */
  p->base.pMethods = p->real->pMethods ? &coalesceMethods : 0;
  if (rc == SQLITE_OK && name != 0 && (flags & SQLITE_OPEN_MAIN_DB) != 0) {
    pthread_mutex_lock(&openMutex);
    p->openedAs = name;
    p->nextOpen = openDatabases;
    openDatabases = p;
    pthread_mutex_unlock(&openMutex);
  } else if (rc == SQLITE_OK && p->databaseName != 0) {
    CoalesceFile *d;
    pthread_mutex_lock(&openMutex);
    for (d = openDatabases; d != 0 && d->openedAs != p->databaseName; d = d->nextOpen) {}
    if (d != 0 && d->wal == 0) {
      d->wal = p;
      p->database = d;
    }
    pthread_mutex_unlock(&openMutex);
  }
  return rc;
}

static int cDelete(sqlite3_vfs *vfs, const char *name, int syncDir) {
  (void)vfs;
  return realVfs->xDelete(realVfs, name, syncDir);
}

static int cAccess(sqlite3_vfs *vfs, const char *name, int flags, int *out) {
  (void)vfs;
  return realVfs->xAccess(realVfs, name, flags, out);
}

static int cFullPathname(sqlite3_vfs *vfs, const char *name, int size, char *out) {
  (void)vfs;
  return realVfs->xFullPathname(realVfs, name, size, out);
}

static void *cDlOpen(sqlite3_vfs *vfs, const char *path) {
  (void)vfs;
  return realVfs->xDlOpen(realVfs, path);
}

static void cDlError(sqlite3_vfs *vfs, int size, char *out) {
  (void)vfs;
  realVfs->xDlError(realVfs, size, out);
}

static void (*cDlSym(sqlite3_vfs *vfs, void *handle, const char *symbol))(void) {
  (void)vfs;
  return realVfs->xDlSym(realVfs, handle, symbol);
}

static void cDlClose(sqlite3_vfs *vfs, void *handle) {
  (void)vfs;
  realVfs->xDlClose(realVfs, handle);
}

static int cRandomness(sqlite3_vfs *vfs, int size, char *out) {
  (void)vfs;
  return realVfs->xRandomness(realVfs, size, out);
}

static int cSleep(sqlite3_vfs *vfs, int micros) {
  (void)vfs;
  return realVfs->xSleep(realVfs, micros);
}

static int cCurrentTime(sqlite3_vfs *vfs, double *out) {
  (void)vfs;
  return realVfs->xCurrentTime(realVfs, out);
}

static int cGetLastError(sqlite3_vfs *vfs, int size, char *out) {
  (void)vfs;
  return realVfs->xGetLastError(realVfs, size, out);
}

static int cCurrentTimeInt64(sqlite3_vfs *vfs, sqlite3_int64 *out) {
  (void)vfs;
  return realVfs->xCurrentTimeInt64(realVfs, out);
}

static sqlite3_vfs coalesceVfs = {
  2, 0, 1024, 0, "tally-wal-coalesce", 0,
  cOpen, cDelete, cAccess, cFullPathname, cDlOpen, cDlError, cDlSym, cDlClose,
  cRandomness, cSleep, cCurrentTime, cGetLastError, cCurrentTimeInt64, 0, 0, 0,
};

static void statsFunction(sqlite3_context *context, int argc, sqlite3_value **argv) {
  char text[256];
  (void)argc;
  (void)argv;
  snprintf(text, sizeof(text), "{\"writesAsked\":%lld,\"writesMade\":%lld,\"flushes\":%lld,\"barriers\":%lld,\"barrierFlushes\":%lld}",
           (long long)__atomic_load_n(&writesAsked, __ATOMIC_RELAXED),
           (long long)__atomic_load_n(&writesMade, __ATOMIC_RELAXED),
           (long long)__atomic_load_n(&flushes, __ATOMIC_RELAXED),
           (long long)__atomic_load_n(&barriers, __ATOMIC_RELAXED),
           (long long)__atomic_load_n(&barrierFlushes, __ATOMIC_RELAXED));
  sqlite3_result_text(context, text, -1, SQLITE_TRANSIENT);
}

/* `tally_wal_coalesce_enable()`: coalesce the WAL writes of the calling connection's database. */
static void enableFunction(sqlite3_context *context, int argc, sqlite3_value **argv) {
  const char *name = sqlite3_db_filename(sqlite3_context_db_handle(context), "main");
  (void)argc;
  (void)argv;
  if (name == 0 || name[0] == 0) {
    sqlite3_result_int(context, 0);
    return;
  }
  if (enable(name) != SQLITE_OK) {
    sqlite3_result_error_nomem(context);
    return;
  }
  sqlite3_result_int(context, 1);
}

static int addFunctions(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  int rc;
  (void)error;
  (void)api;
  rc = sqlite3_create_function(db, "tally_wal_coalesce", 0, SQLITE_UTF8, 0, statsFunction, 0, 0);
  if (rc != SQLITE_OK) return rc;
  return sqlite3_create_function(db, "tally_wal_coalesce_enable", 0, SQLITE_UTF8, 0, enableFunction, 0, 0);
}

#ifdef _WIN32
__declspec(dllexport)
#endif
int sqlite3_extension_init(sqlite3 *db, char **error, const sqlite3_api_routines *api) {
  int rc;
  SQLITE_EXTENSION_INIT2(api);
  if (realVfs == 0) {
    sqlite3_vfs *found = sqlite3_vfs_find(0);
    if (found == 0) return SQLITE_ERROR;
    if (found == &coalesceVfs) return SQLITE_OK_LOAD_PERMANENTLY;
    realVfs = found;
    coalesceVfs.szOsFile = (int)sizeof(CoalesceFile) + realVfs->szOsFile;
    coalesceVfs.mxPathname = realVfs->mxPathname;
    rc = sqlite3_vfs_register(&coalesceVfs, 1);
    if (rc != SQLITE_OK) return rc;
    rc = sqlite3_auto_extension((void (*)(void))addFunctions);
    if (rc != SQLITE_OK) return rc;
  }
  rc = addFunctions(db, error, api);
  return rc == SQLITE_OK ? SQLITE_OK_LOAD_PERMANENTLY : rc;
}
