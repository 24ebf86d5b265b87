// Two projects (files) that promote into one destination repository must not
// give one tag two digests: the second promotion would move the tag.
import type { ImageRecord } from './project';
import type { ManifestError } from './types';

export interface ProjectUnit {
  name: string;
  file: string;
  destinations: readonly string[];
  images: readonly ImageRecord[];
}

/** Units in a stable order (by project name); findings land on the later unit's tag. */
export function crossProjectTagConflicts(units: readonly ProjectUnit[]): ManifestError[] {
  const errors: ManifestError[] = [];
  const claims = new Map<string, { unit: ProjectUnit; rec: ImageRecord }[]>();
  const compared = new Set<string>();
  const ids = new Map<ImageRecord, number>();
  const id = (r: ImageRecord) => {
    let v = ids.get(r);
    if (v === undefined) ids.set(r, (v = ids.size));
    return v;
  };
  for (const unit of units) {
    for (const dest of new Set(unit.destinations)) {
      for (const rec of unit.images) {
        const repo = `${dest}/${rec.image.name}`;
        let list = claims.get(repo);
        if (!list) claims.set(repo, (list = []));
        for (const other of list) {
          if (other.rec === rec) continue;
          const pair = `${id(other.rec)}:${id(rec)}`;
          if (compared.has(pair)) continue; // one finding per pair, not one per region
          compared.add(pair);
          for (const [tag, site] of rec.tags) {
            const theirs = other.rec.tags.get(tag);
            if (!theirs || theirs.digest === site.digest) continue;
            const at = theirs.src.locate(theirs.path);
            errors.push(
              site.src.error(
                site.path,
                'tag-conflict',
                `tag ${tag} would point ${repo} at ${site.digest}, but ${theirs.src.file}:${at.line} (project ${other.unit.name}) promotes ${theirs.digest} with that tag into the same repository`,
              ),
            );
          }
        }
        list.push({ unit, rec });
      }
    }
  }
  return errors;
}
