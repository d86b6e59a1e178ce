import type { Catalogue } from "../../core/i18n";

/** The image match report (`report <image> --match --out F.pdf`): the suspect beside each registered original it matches, the distance and what the threshold means, the original's anchor. */
export const MATCH_REPORT_TEXTS = {
  title: { zh: "图片相似性比对报告", en: "Image match report" },
  footer: {
    zh: "Proofmark 图片比对报告 · 相似不等于抄袭",
    en: "Proofmark image match report · similarity, not proof of copying",
  },
  verdict: {
    zh: "相似 — 可疑图片与 {count} 张已登记原图相似；最接近：{name}（距离 {distance}/64 位），原图不晚于 {timeCst} 已锚定。",
    en: "MATCH — the suspect image resembles {count} registered original(s); nearest: {name} (distance {distance} of 64 bits), whose file was anchored no later than {timeUtc}.",
  },
  verdictLayoutOnly: {
    zh: "仅色彩布局相似（证据较弱）— 图片纹理过少（或局部特征过少），感知指纹与局部特征无法判定；按色彩布局，最接近的已登记原图是 {name}（色彩布局距离 {distance}，阈值 {max}），原图不晚于 {timeCst} 已锚定。同一均匀图案的不同切片看起来也很相似。",
    en: "COLOUR LAYOUT ONLY (weaker evidence) — the images have too little texture for a perceptual fingerprint (or too few local features to confirm a copy); by colour layout the nearest registered original is {name} (layout distance {distance}, threshold {max}), whose file was anchored no later than {timeUtc}. Tiles of one even pattern look alike too.",
  },
  decidedByLayout: {
    zh: "仅色彩布局（证据较弱）：距离 {distance} ≤ {max}，最接近原图的视图：{view}。图片纹理过少（或局部特征过少），感知指纹与局部特征无法判定；这只说明颜色与明暗的分布相近。",
    en: "colour layout only (weaker evidence): distance {distance} ≤ {max}, nearest to the original's view {view}. The images have too little texture for a perceptual fingerprint (or too few local features); this says only that their colours and light sit alike.",
  },
  foundByLayout: {
    zh: "色彩布局：在纹理或局部特征过少的已登记原图中与可疑图片最接近的一张",
    en: "colour layout: the nearest of the registered originals with too little texture for a hash or too few local features",
  },
  similarityNote: {
    zh: "相似性比对结果是“两张图片相似”的证据，不能单独证明抄袭。它说明可疑图片与已登记原图在下文所测的编辑之后仍然相似；原图的存证回执及其链上锚定证明原图文件在何时已经存在。",
    en: "A match is evidence of similarity, not proof of copying. It says that the suspect image and a registered original look alike after the edits measured below; the original's receipt and its anchor on the chain show when her file existed.",
  },
  summaryHeading: { zh: "比对结论", en: "Result" },
  suspectImage: { zh: "可疑图片", en: "Suspect image" },
  suspectSha256: { zh: "可疑图片 SHA-256", en: "Suspect image SHA-256" },
  checkedAt: { zh: "比对时间", en: "Checked at" },
  originalsIndexed: { zh: "索引中的原图数量", en: "Originals in the index" },
  matchDistance: { zh: "匹配距离阈值", en: "Match distance" },
  matchDistanceValue: {
    zh: "pHash-64 距离 ≤ {distance}/64 位即按哈希判定相似；距离不超过 {candidate} 位的候选须经 ORB + RANSAC 找到至少 {inliers} 个内点才算相似",
    en: "{distance} of 64 bits (pHash-64) match by hash; candidates up to {candidate} bits count only when ORB + RANSAC finds at least {inliers} inliers",
  },
  matches: { zh: "相似的原图", en: "Matches" },
  falseMatchAt: {
    zh: "在语料测试（{corpus}；{originals} 张图片）中，互不相关的图片对有 {rate} 距离不超过 {distance} 位：这就是一张无关图片对某一张原图越过该阈值的概率。按默认阈值（哈希距离 {matchDistance}，局部特征至 {candidate} 位），match 对 {fmr} 的无关图片对给出了相似结果，并找到了 {recall} 的编辑副本。",
    en: "In the corpus run ({corpus}; {originals} images), {rate} of pairs of unrelated images were at distance {distance} or less: that is the chance that an unrelated image passes this threshold against one original. With the default thresholds (hash distance {matchDistance}, local features to {candidate} bits), match matched {fmr} of unrelated image pairs and found {recall} of the edited copies.",
  },
  falseMatchNotMeasured: {
    zh: "距离 {distance} 位处的误匹配率未在语料上测量；对该距离下仅凭哈希得出的相似结果须谨慎看待。",
    en: "The false-match rate at distance {distance} was not measured on the corpus; treat a hash-only match at this distance with care.",
  },
  originalHeading: { zh: "原图：{name}", en: "Original: {name}" },
  suspectCaption: { zh: "可疑图片：{name}", en: "Suspect: {name}" },
  originalCaption: { zh: "原图：{name}", en: "Original: {name}" },
  originalMissing: {
    zh: "原图文件已不在存证时的位置，无法展示。",
    en: "The original file is no longer at its stamping path.",
  },
  distance: { zh: "距离", en: "Distance" },
  distanceValue: {
    zh: "{distance}/64 位（pHash-64）；{distance256}/256 位（256 位 DCT 哈希）",
    en: "{distance} of 64 bits (pHash-64); {distance256} of 256 bits (256-bit DCT hash)",
  },
  variant: { zh: "匹配的变体", en: "Matching variant" },
  localFeatures: { zh: "局部特征", en: "Local features" },
  featuresNotChecked: { zh: "未检查（无存储的特征）", en: "not checked (no stored features)" },
  featuresInliers: { zh: "{inliers} 个 RANSAC 内点（ORB）", en: "{inliers} RANSAC inliers (ORB)" },
  decidedBy: { zh: "判定依据", en: "Decided by" },
  decidedByHash: { zh: "哈希距离 ≤ {distance}", en: "hash distance ≤ {distance}" },
  decidedByFeatures: {
    zh: "局部特征：{inliers} 个内点 ≥ {min}（哈希距离 {distance}）",
    en: "local features: {inliers} inliers ≥ {min} (hash distance {distance})",
  },
  foundBy: { zh: "候选来源", en: "Found by" },
  foundByHash: {
    zh: "全局哈希：原图的某个变体与可疑图片的 pHash 距离在候选范围内",
    en: "global hash: one of the original's variants is within the candidate distance of the suspect's pHash",
  },
  foundByLocalFeatures: {
    zh: "局部特征：可疑图片的 ORB 描述子在局部特征索引中投票选出了该原图（其哈希距离超出候选范围）",
    en: "local features: the suspect's ORB descriptors voted for this original in the local-feature index (its hash was beyond the candidate distance)",
  },
  tooLittleTexture: {
    zh: "可疑图片纹理过少，无法可靠地提取指纹（纯色、平滑渐变或均匀细纹）：其哈希大多是噪声，因此原图的副本可能找不到，无关的平坦图片也可能相似。",
    en: "The suspect image has too little texture to fingerprint (flat, a smooth gradient or an even fine pattern): its hash is mostly noise, so a copy of a registered original may go unfound and unrelated flat pictures may match.",
  },
  noMatch: { zh: "没有已登记的原图与该图片相似。", en: "No registered original matches this image." },
  seenAs: { zh: "可疑图片的查找方式", en: "Suspect seen as" },
  seenAsWhole: { zh: "原样（去除纯色边框）", en: "the image as it is (uniform borders trimmed)" },
  seenAsRegion: {
    zh: "其中包含的照片（截图、相框、说明文字栏内）",
    en: "the photo found inside it (a screenshot, a frame, a caption bar around it)",
  },
  seenAsRotation: {
    zh: "旋转回正后（它以旋转的方式放在纯色画布上）",
    en: "the image turned back (it sits rotated on a plain canvas)",
  },
  threshold: { zh: "阈值的含义", en: "What the threshold means" },
  anchored: { zh: "原图锚定", en: "Anchored" },
  anchoredValue: {
    zh: "{timeCst} — 链 {chainId} 区块 {blockNumber}，交易 {txHash}",
    en: "{timeUtc} — block {blockNumber} on chain {chainId}, transaction {txHash}",
  },
  receipt: { zh: "存证回执", en: "Receipt" },
  receiptPresent: { zh: "存在；其叶子承诺了该指纹", en: "present; its leaf commits this fingerprint" },
  receiptMissing: { zh: "缺失", en: "missing" },
  receiptInvalid: { zh: "无效", en: "invalid" },
  receiptOtherFingerprint: { zh: "承诺的是另一个指纹", en: "commits another fingerprint" },
  originalSha256: { zh: "原图文件 SHA-256", en: "Original file SHA-256" },
  reverified: { zh: "回执复核", en: "Receipt re-verified" },
  notReverified: {
    zh: "未复核（原图文件或回执缺失）",
    en: "not re-verified (original file or receipt missing)",
  },
  reverifiedOk: {
    zh: "核验通过：原图文件与回执一致，锚定于链 {chainId} 区块 {blockNumber}",
    en: "verified: the original file matches its receipt, anchored in block {blockNumber} on chain {chainId}",
  },
  reverifiedFailed: { zh: "未通过核验：{code}：{message}", en: "not verified: {code}: {message}" },
  methodHeading: { zh: "比对方法", en: "How the comparison works" },
  method: {
    zh: "两张图片都先解码并去除纯色边框，再计算 64 位感知哈希（pHash：灰度图低频 DCT 系数的符号）。原图以多种变体登记（整图、镜像、居中裁剪、单侧裁剪），使裁剪、加边框和镜像后的副本落在某个变体附近。距离即不同的位数。",
    en: "Both images are decoded, uniform borders are trimmed, and a 64-bit perceptual hash (pHash: the signs of low-frequency DCT coefficients of the grey image) is computed. Originals are indexed with several variants (whole, mirrored, centre crops, one-sided crops), so cropped, bordered and mirrored copies land near one of them. The distance is the number of differing bits.",
  },
  methodFeatures: {
    zh: "局部特征（ORB 关键点经比值检验匹配，再以 RANSAC 求单应变换）统计能被同一几何变换从可疑图片映射到原图上的关键点数；无关图片通常为零。",
    en: "Local features (ORB keypoints matched with a ratio test, then a RANSAC homography) count the keypoints that one geometric transform maps from the suspect onto the original; unrelated images typically give none.",
  },
  notCheckedHeading: { zh: "本报告未检查的内容", en: "What this report did not check" },
  notCheckedAuthor: {
    zh: "任一图片由谁制作，也未检查可疑图片是否源自原图而非二者同源于第三张图片。",
    en: "Who made either image, or whether the suspect was derived from the original rather than both from a common source.",
  },
  notCheckedFeatures: {
    zh: "局部特征比对未能进行（可疑图片的查找方式：{seenAs}{original}）：{reason}。该项检查未做，结论仅基于其余检查。",
    en: "Local features could not be compared (suspect seen as: {seenAs}{original}): {reason}. That check was not made; the result rests on the other checks.",
  },
  notCheckedLayouts: {
    zh: "色彩布局只与按布局描述符最接近可疑图片的 {compared} 个带色彩布局的已登记原图作了完整比对（索引中此类原图多于 {limit} 个）；其余原图的色彩布局未作比对。",
    en: "The colour layout was compared in full only with the {compared} registered originals with a colour layout nearest to the suspect by layout descriptor (the index holds more than {limit} of them); the others' colour layouts were not compared.",
  },
  notCheckedFeaturesOriginal: { zh: "；原图：{name}", en: "; original: {name}" },
  notCheckedMissing: {
    zh: "存证时的位置上已不存在的原图文件无法展示，也无法对照链上记录复核；相应条目会注明。",
    en: "Originals whose file was no longer at its stamping path could not be shown or re-verified against the chain; their rows say so.",
  },
} satisfies Catalogue;
