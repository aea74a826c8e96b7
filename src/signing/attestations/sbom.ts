import * as CDX from '@cyclonedx/cyclonedx-library';
import { PackageURL } from 'packageurl-js';
import { createdFromEpoch } from '../../oci/image-config.ts';
import { SigningErrorCode, signingError } from '../errors.ts';
import type { StepImageContents } from './image-contents.ts';

/** CycloneDX 1.6: the spec version cosign's `cyclonedx` attestation type and policy engines read. */
const SPEC = CDX.Spec.Spec1dot6;

/**
 * A CycloneDX SBOM of one step image: the image as the described component,
 * and everything in it as components it depends on — the bundled program,
 * the Node binary (the npm package it comes from), the Debian packages of
 * the runtime layer, and every npm package esbuild put into the program.
 * Hashes are the pinned ones (the .deb sha256, npm sha512 integrity), so
 * the document is reproducible: its timestamp is the image's
 * SOURCE_DATE_EPOCH.
 */
export function stepImageSbom(contents: StepImageContents): Record<string, unknown> {
  const bom = new CDX.Models.Bom();
  bom.metadata.timestamp = new Date(createdFromEpoch(contents.sourceDateEpoch));
  const image = new CDX.Models.Component(CDX.Enums.ComponentType.Container, contents.image.name, {
    version: contents.image.digest,
    bomRef: 'image',
    purl: new PackageURL('oci', null, contents.image.name.split('/').at(-1)!, contents.image.digest, { repository_url: contents.image.name }, null).toString(),
  });
  bom.metadata.component = image;
  const add = (component: CDX.Models.Component) => {
    bom.components.add(component);
    image.dependencies.add(component.bomRef);
  };

  // The program is its entry file (what node runs); the chunks it loads on demand are files it depends on.
  const [entry, ...chunks] = contents.programFiles;
  if (entry === undefined) throw signingError(SigningErrorCode.sbomSourceMismatch, `steps/${contents.program} has no program file`, 'rebuild the catalog');
  const program = new CDX.Models.Component(CDX.Enums.ComponentType.Application, `steps/${contents.program}`, { bomRef: `file:${entry.path}` });
  program.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], entry.digest.slice('sha256:'.length));
  program.properties.add(new CDX.Models.Property('path', entry.path));
  add(program);
  for (const chunk of chunks) {
    const file = new CDX.Models.Component(CDX.Enums.ComponentType.File, chunk.path, { bomRef: `file:${chunk.path}` });
    file.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], chunk.digest.slice('sha256:'.length));
    file.properties.add(new CDX.Models.Property('path', chunk.path));
    bom.components.add(file);
    program.dependencies.add(file.bomRef);
  }

  const seen = new Set<string>();
  for (const platform of contents.platforms) {
    const node = new PackageURL('npm', null, platform.node.name, platform.node.version, null, null).toString();
    if (!seen.has(node)) {
      seen.add(node);
      const component = new CDX.Models.Component(CDX.Enums.ComponentType.Platform, platform.node.name, { version: platform.node.version, purl: node, bomRef: node });
      component.hashes.set(CDX.Enums.HashAlgorithm['SHA-512'], integrityHex(platform.node.integrity));
      component.properties.add(new CDX.Models.Property('path', '/usr/local/bin/node'));
      component.properties.add(new CDX.Models.Property('architecture', platform.arch));
      add(component);
    }
    for (const deb of platform.debs) {
      const purl = new PackageURL('deb', 'debian', deb.package, deb.version, { arch: deb.architecture, distro: 'debian-12' }, null).toString();
      if (seen.has(purl)) continue;
      seen.add(purl);
      const component = new CDX.Models.Component(CDX.Enums.ComponentType.Library, deb.package, { version: deb.version, purl, bomRef: purl });
      component.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], deb.sha256);
      add(component);
    }
  }
  for (const pkg of contents.npmPackages) {
    const at = pkg.name.lastIndexOf('/');
    const purl = new PackageURL('npm', at > 0 ? pkg.name.slice(0, at) : null, at > 0 ? pkg.name.slice(at + 1) : pkg.name, pkg.version, null, null).toString();
    if (seen.has(purl)) continue;
    seen.add(purl);
    const component = new CDX.Models.Component(CDX.Enums.ComponentType.Library, pkg.name, { version: pkg.version, purl, bomRef: purl });
    if (pkg.integrity?.startsWith('sha512-')) component.hashes.set(CDX.Enums.HashAlgorithm['SHA-512'], integrityHex(pkg.integrity));
    if (pkg.license !== undefined) component.licenses.add(licence(pkg.license));
    add(component);
  }
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(SPEC));
  return JSON.parse(serializer.serialize(bom, { sortLists: true })) as Record<string, unknown>;
}

/** package-lock's licence field: an SPDX id, an SPDX expression, or free text. */
function licence(value: string): CDX.Models.License {
  if (CDX.SPDX.isSupportedSpdxId(value)) return new CDX.Models.SpdxLicense(value);
  if (/^\(?[A-Za-z0-9.+-]+( (AND|OR|WITH) \(?[A-Za-z0-9.+-]+\)?)+\)?$/.test(value)) return new CDX.Models.LicenseExpression(value);
  return new CDX.Models.NamedLicense(String(value).slice(0, 200));
}

function integrityHex(integrity: string): string {
  return Buffer.from(integrity.slice(integrity.indexOf('-') + 1), 'base64').toString('hex');
}
