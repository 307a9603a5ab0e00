# Records taskstep's output for hand-written dialect cases (each expectation checked by hand against
# Concourse's source at the tag); writes tests/data/compat/<dialect>/<category>.jsonl.
import json, os, subprocess, tempfile, shutil, sys
BIN=os.environ.get('OURS', 'build/bin/taskstep')
OUT=os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')
H='platform: linux\nrun: {path: echo}\n'
cases = {
 'image': [
  ('name-tags-render', ['render','task.yml'], H+'image_resource: {type: registry-image, source: {repository: busybox}, params: {format: oci}, version: {digest: "sha256:0"}, tags: [gpu, 1]}\n'),
  ('name-given', ['render','task.yml'], H+'image_resource: {name: mine, type: registry-image, source: {}}\n'),
  ('name-only', ['render','task.yml'], H+'image_resource: {type: registry-image, source: {repository: busybox}}\n'),
  ('tags-not-list', ['validate','task.yml'], H+'image_resource: {type: registry-image, source: {}, tags: gpu}\n'),
  ('tags-null', ['render','task.yml'], H+'image_resource: {type: registry-image, source: {}, tags: ~}\n'),
  ('tags-empty', ['render','task.yml'], H+'image_resource: {type: registry-image, source: {}, tags: []}\n'),
 ],
 'limits': [
  ('cpu-null', ['render','task.yml'], H+'container_limits: {cpu: ~}\n'),
  ('mem-null', ['render','task.yml'], H+'container_limits: {memory: ~}\n'),
  ('cpu-null-mem-null', ['render','task.yml'], H+'container_limits: {cpu: ~, memory: ~}\n'),
  ('cpu-string', ['render','task.yml'], H+"container_limits: {cpu: '1'}\n"),
  ('cpu-bool', ['render','task.yml'], H+'container_limits: {cpu: true}\n'),
  ('cpu-float', ['render','task.yml'], H+'container_limits: {cpu: 1.9}\n'),
  ('cpu-negative', ['render','task.yml'], H+'container_limits: {cpu: -1}\n'),
  ('cpu-huge', ['render','task.yml'], H+'container_limits: {cpu: 1e20}\n'),
  ('mem-1B', ['render','task.yml'], H+'container_limits: {memory: 1B}\n'),
  ('mem-1', ['render','task.yml'], H+"container_limits: {memory: '1'}\n"),
  ('mem-512m', ['render','task.yml'], H+'container_limits: {memory: 512m}\n'),
  ('mem-1G', ['render','task.yml'], H+'container_limits: {memory: 1G}\n'),
  ('mem-1Gi', ['render','task.yml'], H+'container_limits: {memory: 1Gi}\n'),
  ('mem-1GiB', ['render','task.yml'], H+'container_limits: {memory: 1GiB}\n'),
  ('mem-1kib', ['render','task.yml'], H+'container_limits: {memory: 1kib}\n'),
  ('mem-1KB', ['render','task.yml'], H+'container_limits: {memory: 1KB}\n'),
  ('mem-1iB', ['render','task.yml'], H+'container_limits: {memory: 1iB}\n'),
  ('mem-1T', ['render','task.yml'], H+'container_limits: {memory: 1T}\n'),
  ('mem-space', ['render','task.yml'], H+"container_limits: {memory: ' 1G'}\n"),
  ('mem-overflow', ['render','task.yml'], H+"container_limits: {memory: '99999999999999999999'}\n"),
  ('mem-wrap', ['render','task.yml'], H+"container_limits: {memory: '17179869184G'}\n"),
  ('mem-bool', ['render','task.yml'], H+'container_limits: {memory: true}\n'),
  ('mem-list', ['render','task.yml'], H+'container_limits: {memory: [1]}\n'),
  ('mem-float', ['render','task.yml'], H+'container_limits: {memory: 1.5}\n'),
  ('unknown-key', ['render','task.yml'], H+'container_limits: {cpu: 1, disk: 2}\n'),
  ('upper-key', ['render','task.yml'], H+'container_limits: {CPU: 2, Memory: 1M}\n'),
  ('not-a-map', ['render','task.yml'], H+'container_limits: 5\n'),
  ('list', ['render','task.yml'], H+'container_limits: [1]\n'),
  ('null', ['render','task.yml'], H+'container_limits: ~\n'),
  ('empty', ['render','task.yml'], H+'container_limits: {}\n'),
  ('cpu-var', ['render','task.yml','-y','c=3'], H+'container_limits: {cpu: ((c))}\n'),
 ],
 'decode': [
  ('unknown-top', ['validate','task.yml'], H+'ouputs: [{name: o}]\n'),
  ('unknown-case', ['validate','task.yml'], H+'Platform: linux\n'),
  ('unknown-nested', ['render','task.yml'], 'platform: linux\nrun: {path: echo, agrs: [x]}\ninputs: [{name: a, optinal: true}]\n'),
  ('unknown-two', ['validate','task.yml'], H+'zzz: 1\naaa: 2\n'),
  ('unknown-int-key', ['validate','task.yml'], H+'1: x\n'),
  ('duplicate-top', ['render','task.yml'], 'platform: linux\nplatform: darwin\nrun: {path: echo}\n'),
  ('duplicate-nested', ['render','task.yml'], 'platform: linux\nrun: {path: echo, path: ls}\n'),
  ('platform-int', ['render','task.yml'], 'platform: 1\nrun: {path: echo}\n'),
  ('platform-bool', ['render','task.yml'], 'platform: true\nrun: {path: echo}\n'),
  ('path-float', ['render','task.yml'], 'platform: linux\nrun: {path: 1.5}\n'),
  ('args-ints', ['render','task.yml'], 'platform: linux\nrun: {path: echo, args: [1, true]}\n'),
  ('input-optional-string', ['render','task.yml'], H+'inputs: [{name: a, optional: "yes"}]\n'),
  ('top-list', ['validate','task.yml'], '[1]\n'),
  ('top-string', ['validate','task.yml'], 'hello\n'),
  ('top-empty', ['validate','task.yml'], ''),
  ('version-int', ['render','task.yml'], H+'image_resource: {type: t, source: {}, version: {v: 1}}\n'),
  ('params-int', ['render','task.yml','--env'], H+'params: {A: 1, B: true, C: ~}\n'),
 ],
 'run': [
  ('no-run', ['render','task.yml'], 'platform: linux\n'),
  ('no-run-validate', ['validate','task.yml'], 'platform: linux\n'),
  ('run-empty', ['render','task.yml'], 'platform: linux\nrun: {}\n'),
  ('run-args-only', ['render','task.yml'], 'platform: linux\nrun: {args: [x]}\n'),
  ('run-user-only', ['render','task.yml'], 'platform: linux\nrun: {user: root}\n'),
  ('no-platform-no-run', ['validate','task.yml'], 'inputs: [{}]\n'),
  ('run-var', ['render','task.yml','-v','p=echo'], 'platform: linux\nrun: {path: ((p))}\n'),
 ],
 'caches': [
  ('ttl-1h', ['render','task.yml'], H+'caches: [{path: c, ttl: 1h}]\n'),
  ('ttl-1s', ['render','task.yml'], H+'caches: [{path: c, ttl: 1s}]\n'),
  ('ttl-999ms', ['render','task.yml'], H+'caches: [{path: c, ttl: 999ms}]\n'),
  ('ttl-0', ['render','task.yml'], H+"caches: [{path: c, ttl: '0'}]\n"),
  ('ttl-negative', ['render','task.yml'], H+'caches: [{path: c, ttl: -1h}]\n'),
  ('ttl-days', ['render','task.yml'], H+'caches: [{path: c, ttl: 7d}]\n'),
  ('ttl-no-unit', ['render','task.yml'], H+'caches: [{path: c, ttl: "10"}]\n'),
  ('ttl-garbage', ['render','task.yml'], H+'caches: [{path: c, ttl: soon}]\n'),
  ('ttl-number', ['render','task.yml'], H+'caches: [{path: c, ttl: 10}]\n'),
  ('ttl-empty', ['render','task.yml'], H+"caches: [{path: c, ttl: ''}]\n"),
  ('ttl-var', ['render','task.yml','-v','t=1h'], H+'caches: [{path: c, ttl: ((t))}]\n'),
  ('ttl-mixed', ['render','task.yml'], H+'caches: [{path: c, ttl: 1h30m0.5s}]\n'),
  ('path-int', ['render','task.yml'], H+'caches: [{path: 1}]\n'),
  ('entry-int', ['render','task.yml'], H+'caches: [1]\n'),
  ('entry-null', ['render','task.yml'], H+'caches: [~]\n'),
  ('ttl-and-unknown', ['render','task.yml'], H+'caches: [{path: c, ttl: 1h, size: 2}]\n'),
 ],
 'refs': [
  ('source-static', ['render','task.yml','-v','x=1'], H+'params: {A: ((vault:x))}\n'),
  ('source-quoted', ['render','task.yml','-v','x=1'], H+'params: {A: (("vault":x))}\n'),
  ('source-empty', ['render','task.yml','-v','x=1'], H+'params: {A: ((:x))}\n'),
  ('empty-field', ['render','task.yml','-v','a=1'], H+'params: {A: ((a..b))}\n'),
  ('quoted-field', ['render','task.yml','-y','a={b.c: 1}'], H+'params: {A: ((a."b.c"))}\n'),
  ('quoted-dotdot', ['render','task.yml','-v','x=1'], H+'params: {A: ((".."/x))}\n'),
  ('dotdot-only', ['render','task.yml','-v','x=1'], H+'params: {A: ((".."))}\n'),
  ('unclosed-quote', ['render','task.yml','-v','x=1'], H+'params: {A: (("x))}\n'),
  ('field-of-string', ['render','task.yml','-v','x=s'], H+'params: {A: ((x.y))}\n'),
  ('missing-field', ['render','task.yml','-y','x={k: 1}'], H+'params: {A: ((x.z))}\n'),
  ('found-field', ['render','task.yml','-y','x={k: 1}'], H+'params: {A: ((x.k))}\n'),
  ('undefined', ['render','task.yml'], H+'params: {A: ((a)), B: ((b.c)), C: ((s:d))}\n'),
  ('undefined-quoted-name', ['render','task.yml'], H+'params: {A: (("a:b"))}\n'),
 ],
 'oldstyle': [
  ('found', ['render','task.yml','-v','x=1'], H+'params: {A: "{{x}}"}\n'),
  ('missing', ['render','task.yml'], H+'params: {A: "{{x}}"}\n'),
  ('mixed', ['render','task.yml','-v','x=1','-v','y=2'], H+'params: {A: "{{x}}-((y))"}\n'),
 ],
}
which = sys.argv[1:]
for dialect in which:
    d = os.path.join(OUT, dialect); os.makedirs(d, exist_ok=True)
    for cat, lst in cases.items():
        lines=[]
        for name, args, task in sorted(lst):
            w=tempfile.mkdtemp(); open(os.path.join(w,'task.yml'),'w').write(task)
            r=subprocess.run([os.path.abspath(BIN)]+args+['--concourse',dialect],cwd=w,capture_output=True)
            err='\n'.join(l for l in r.stderr.decode().split('\n') if not l.startswith('[WARNING] '))
            lines.append(json.dumps({'name':name,'args':args,'files':{'task.yml':task},'exit':r.returncode,'stdout':r.stdout.decode(),'stderr':err}, ensure_ascii=True))
            shutil.rmtree(w)
        open(os.path.join(d,cat+'.jsonl'),'w').write('\n'.join(lines)+'\n')
